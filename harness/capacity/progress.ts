/**
 * The progress bar on stderr. On a terminal one line is redrawn in place; otherwise (CI logs, a
 * pipe) each step prints one plain line, so logs stay readable.
 */

export const progressBarWidth = 30
export const progressRedrawIntervalMs = 250

/** `[#######.......]  45%  gateway closed 64 conns  31 s left` */
export function progressLine(doneS: number, totalS: number, label: string, width = progressBarWidth): string {
  const fraction = totalS <= 0 ? 1 : Math.min(1, Math.max(0, doneS / totalS))
  const filled = Math.round(fraction * width)
  const left = Math.max(0, Math.ceil(totalS - doneS))
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${label}  ${left} s left`
}

export interface ProgressStream {
  isTTY?: boolean
  columns?: number
  write(text: string): boolean
}

export class Progress {
  private doneS = 0
  private stepStartedAt = 0
  private stepDurationS = 0
  private label = 'starting'
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly stream: ProgressStream,
    private totalS: number,
  ) {}

  /** Begins a step of known length; the previous step's planned time counts as done. */
  step(label: string, durationS: number): void {
    this.doneS += this.stepDurationS
    this.stepDurationS = durationS
    this.stepStartedAt = Date.now()
    this.label = label
    if (this.stream.isTTY) {
      this.draw()
      this.timer ??= setInterval(() => this.draw(), progressRedrawIntervalMs)
      this.timer.unref()
    } else {
      this.stream.write(`${progressLine(this.doneS, this.totalS, label)}\n`)
    }
  }

  /** A line of text above the bar (it is redrawn after). */
  note(text: string): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K')
    this.stream.write(`${text}\n`)
    if (this.stream.isTTY && this.timer !== undefined) this.draw()
  }

  finish(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    if (this.stream.isTTY) this.stream.write('\r\x1b[2K')
  }

  private draw(): void {
    const elapsedS = Math.min(this.stepDurationS, (Date.now() - this.stepStartedAt) / 1000)
    const line = progressLine(this.doneS + elapsedS, this.totalS, this.label)
    const width = this.stream.columns ?? 100
    this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`)
  }
}
