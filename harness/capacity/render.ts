import type { CapacityReport, StepResult } from './report-schema.ts'

/**
 * `report.md` and `report.html` from a report. The HTML is one file with inline SVG charts and
 * inline CSS: it opens from disk without a server or network.
 */

export interface Series {
  name: string
  color: string
  dashed?: boolean
  points: ReadonlyArray<readonly [number, number]>
}

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: readonly Series[]
}

const chartWidth = 640
const chartHeight = 320
const margin = { left: 64, right: 16, top: 32, bottom: 48 }
const tickCount = 5

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

function niceMax(value: number): number {
  if (!(value > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function tickLabel(value: number): string {
  if (value >= 1000) return `${Number((value / 1000).toFixed(1))}k`
  return `${Number(value.toFixed(value < 10 ? 2 : 0))}`
}

/** A line chart as an SVG element, axes from zero. */
export function lineChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points)
  const xMax = niceMax(Math.max(0, ...all.map(([x]) => x)))
  const yMax = niceMax(Math.max(0, ...all.map(([, y]) => y)))
  const plotWidth = chartWidth - margin.left - margin.right
  const plotHeight = chartHeight - margin.top - margin.bottom
  const sx = (x: number) => margin.left + (x / xMax) * plotWidth
  const sy = (y: number) => margin.top + plotHeight - (y / yMax) * plotHeight
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${chartWidth} ${chartHeight}" width="${chartWidth}" height="${chartHeight}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<text x="${chartWidth / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ]
  for (let i = 0; i <= tickCount; i++) {
    const yValue = (yMax * i) / tickCount
    const xValue = (xMax * i) / tickCount
    parts.push(
      `<line x1="${margin.left}" x2="${chartWidth - margin.right}" y1="${sy(yValue).toFixed(1)}" y2="${sy(yValue).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 6}" y="${(sy(yValue) + 4).toFixed(1)}" text-anchor="end" font-size="11">${tickLabel(yValue)}</text>`,
      `<text x="${sx(xValue).toFixed(1)}" y="${chartHeight - margin.bottom + 16}" text-anchor="middle" font-size="11">${tickLabel(xValue)}</text>`,
    )
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<line x1="${margin.left}" x2="${chartWidth - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="#333"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${chartHeight - 8}" text-anchor="middle" font-size="12">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  )
  spec.series.forEach((series, index) => {
    const sorted = [...series.points].sort((a, b) => a[0] - b[0])
    if (sorted.length > 0) {
      const path = sorted.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      parts.push(
        `<path d="${path.join(' ')}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      )
      for (const [x, y] of sorted) {
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${series.color}"><title>${escapeXml(`${series.name}: ${tickLabel(x)}, ${y}`)}</title></circle>`,
        )
      }
    }
    const legendY = margin.top + 4 + index * 16
    parts.push(
      `<line x1="${margin.left + 10}" x2="${margin.left + 34}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${margin.left + 40}" y="${legendY + 4}" font-size="11">${escapeXml(series.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n')
}

const directColor = '#1f77b4'
const gatewayColor = '#d62728'
const minimalProxyColor = '#2ca02c'

function openPoints(steps: readonly StepResult[], pick: (s: StepResult) => number): Array<[number, number]> {
  return steps.map((s) => [s.offeredRequestsPerSecond ?? 0, pick(s)])
}

export function charts(report: CapacityReport): ChartSpec[] {
  const d = report.direct
  const g = report.gateway
  return [
    {
      title: 'Closed loop: throughput by connections',
      xLabel: 'connections',
      yLabel: 'requests/s',
      series: [
        {
          name: 'direct',
          color: directColor,
          points: d.closedLoop.map((s) => [s.connections, s.requestsPerSecond]),
        },
        {
          name: 'gateway',
          color: gatewayColor,
          points: g.closedLoop.map((s) => [s.connections, s.requestsPerSecond]),
        },
        ...(report.minimalProxy === undefined
          ? []
          : [
              {
                name: 'minimal proxy',
                color: minimalProxyColor,
                points: report.minimalProxy.closedLoop.map((s): [number, number] => [
                  s.connections,
                  s.requestsPerSecond,
                ]),
              },
            ]),
      ],
    },
    {
      title: 'Open loop: achieved against offered rate',
      xLabel: 'offered requests/s',
      yLabel: 'achieved requests/s',
      series: [
        { name: 'direct', color: directColor, points: openPoints(d.openLoop, (s) => s.requestsPerSecond) },
        { name: 'gateway', color: gatewayColor, points: openPoints(g.openLoop, (s) => s.requestsPerSecond) },
      ],
    },
    {
      title: 'Open loop: latency percentiles (coordinated-omission corrected)',
      xLabel: 'offered requests/s',
      yLabel: 'latency ms',
      series: [
        { name: 'direct p50', color: directColor, points: openPoints(d.openLoop, (s) => s.latencyMs.p50) },
        {
          name: 'direct p99',
          color: directColor,
          dashed: true,
          points: openPoints(d.openLoop, (s) => s.latencyMs.p99),
        },
        { name: 'gateway p50', color: gatewayColor, points: openPoints(g.openLoop, (s) => s.latencyMs.p50) },
        {
          name: 'gateway p99',
          color: gatewayColor,
          dashed: true,
          points: openPoints(g.openLoop, (s) => s.latencyMs.p99),
        },
      ],
    },
  ]
}

function fixed(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? 'n/a' : value.toFixed(digits)
}

/** The proxy in front of the mock in a step: the gateway, or the minimal proxy in its series. */
function proxyUsage(s: StepResult) {
  return s.gatewayProcess ?? s.minimalProxyProcess ?? null
}

function stepRows(target: string, steps: readonly StepResult[]): string[] {
  return steps.map((s) =>
    [
      target,
      s.mode,
      s.connections,
      s.offeredRequestsPerSecond ?? '–',
      s.requestsPerSecond.toFixed(0),
      s.queriesPerSecond.toFixed(0),
      fixed(s.latencyMs.p50),
      fixed(s.latencyMs.p90),
      fixed(s.latencyMs.p99),
      fixed(s.latencyMs.p999),
      s.errors,
      s.non2xx,
      s.timeouts,
      s.droppedRequests,
      fixed(proxyUsage(s)?.cpuSecondsPer1000Requests, 3),
      fixed(proxyUsage(s)?.rssMbPeak, 0),
      fixed(s.mockProcess?.cpuSecondsPer1000Requests, 3),
    ].join(' | '),
  )
}

const stepHeader = [
  'target',
  'loop',
  'conns',
  'offered req/s',
  'req/s',
  'queries/s',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'non-2xx',
  'timeouts',
  'dropped',
  'proxy CPU s/1k req',
  'proxy RSS MB',
  'mock CPU s/1k req',
]

const proxyColumnsNote =
  'Proxy columns: the gateway process in gateway rows, the minimal proxy process (the floor: no routing, no history) in minimal proxy rows.'

function targetRows(report: CapacityReport): string[] {
  return report.targets.map(
    (t) =>
      `| ${t.name} | ${t.expected} | ${t.measured === null ? 'n/a' : `${t.measured} ${t.unit}`} | ${
        t.met === null ? 'not judged' : t.met ? 'met' : 'MISSED'
      } |`,
  )
}

const floorHeading = '## Against the minimal proxy, by request kind'

/** The gateway against the minimal proxy by request kind; nothing for reports without the floor split. */
function floorLines(report: CapacityReport): string[] {
  const byKind = report.summary.floorByKind
  const rates = report.summary.overheadByRate.filter((o) => o.addedOverFloorLatencyMsP50 !== undefined)
  if ((byKind === null || byKind === undefined) && rates.length === 0) return []
  const lines = [floorHeading, '']
  if (byKind !== null && byKind !== undefined) {
    lines.push(
      `Closed loop at the gateway's saturation (${byKind.connections} connections through both); ratio = minimal proxy mean latency / gateway mean latency, the share of the floor's throughput each kind reaches.`,
      '',
      '| request kind | gateway mean ms | minimal proxy mean ms | ratio |',
      '|---|---:|---:|---:|',
      `| statement submissions | ${fixed(byKind.submission.gatewayLatencyMsMean)} | ${fixed(byKind.submission.minimalProxyLatencyMsMean)} | ${fixed(byKind.submission.ratio, 3)} |`,
      `| follow-up polls | ${fixed(byKind.followUp.gatewayLatencyMsMean)} | ${fixed(byKind.followUp.minimalProxyLatencyMsMean)} | ${fixed(byKind.followUp.ratio, 3)} |`,
      '',
    )
  }
  if (rates.length > 0) {
    lines.push(
      'Open loop, gateway minus minimal proxy at the same offered rate:',
      '',
      '| offered req/s | +p50 ms | POST +p50 | follow-up +p50 |',
      '|---:|---:|---:|---:|',
      ...rates.map(
        (o) =>
          `| ${o.offeredRequestsPerSecond} | ${fixed(o.addedOverFloorLatencyMsP50)} | ${fixed(o.addedOverFloorSubmissionLatencyMsP50)} | ${fixed(o.addedOverFloorFollowUpLatencyMsP50)} |`,
      ),
      '',
    )
  }
  return lines
}

export function renderMarkdown(report: CapacityReport): string {
  const m = report.machine
  const lines = [
    `# Capacity report ${report.runId}`,
    '',
    report.verdict,
    '',
    `Mode ${report.mode}${report.scenario === null ? '' : `, scenario ${report.scenario}`}, seed ${report.seed}, code ${report.codeVersion}, ${report.startedAt} to ${report.finishedAt}.`,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${Math.round(m.memoryTotalMb)} MB, Node ${m.node} on ${m.platform}; 1-minute load average ${m.loadAverage1mStart.toFixed(1)} at start, ${m.loadAverage1mEnd.toFixed(1)} at end.`,
    `Topology: ${report.topology.processes}; gateway workers ${report.topology.workers ?? 1}; database ${report.topology.database}; clusters ${report.topology.clusters
      .map((c) => `${c.name} (${c.routingGroup})`)
      .join(', ')}; direct runs target ${report.topology.directTarget}.`,
    `Protocol: \`${report.protocol.sql}\`, ${report.protocol.requestsPerQuery} HTTP requests per query (POST, then each nextUri).`,
    '',
    '## Targets',
    '',
    '| target | expected | measured | result |',
    '|---|---|---|---|',
    ...targetRows(report),
    '',
    '## Added latency by offered rate (gateway minus direct, open loop)',
    '',
    '| offered req/s | +p50 ms | +p90 ms | +p99 ms | POST +p50 | POST +p99 | follow-up +p50 | follow-up +p99 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.summary.overheadByRate.map(
      (o) =>
        `| ${o.offeredRequestsPerSecond} | ${fixed(o.addedLatencyMsP50)} | ${fixed(o.addedLatencyMsP90)} | ${fixed(o.addedLatencyMsP99)} | ${fixed(o.addedSubmissionLatencyMsP50)} | ${fixed(o.addedSubmissionLatencyMsP99)} | ${fixed(o.addedFollowUpLatencyMsP50)} | ${fixed(o.addedFollowUpLatencyMsP99)} |`,
    ),
    '',
    'POST: statement submissions alone (routing, the query_history insert, the first answer); follow-up: the GETs of each nextUri.',
    '',
    ...floorLines(report),
    '## Steps',
    '',
    `| ${stepHeader.join(' | ')} |`,
    `|${stepHeader.map(() => '---').join('|')}|`,
    ...[
      ...stepRows('direct', report.direct.closedLoop),
      ...stepRows('gateway', report.gateway.closedLoop),
      ...stepRows('minimal proxy', report.minimalProxy?.closedLoop ?? []),
      ...stepRows('direct', report.direct.openLoop),
      ...stepRows('gateway', report.gateway.openLoop),
      ...stepRows('minimal proxy', report.minimalProxy?.openLoop ?? []),
    ].map((row) => `| ${row} |`),
    '',
    proxyColumnsNote,
    '',
  ]
  const inFlight = report.gateway.inFlight
  if (inFlight !== null) {
    lines.push(
      '## Queries in flight',
      '',
      `${inFlight.connections} connections held queries open through the gateway for ${inFlight.durationS.toFixed(1)} s; ` +
        `the mocks counted up to ${inFlight.queriesInFlightPeak} queries running or queued (target ${inFlight.queriesInFlightTarget}). ` +
        `Gateway RSS ${inFlight.rssMbBefore.toFixed(0)} MB before, ${inFlight.rssMbPeak.toFixed(0)} MB at peak; ` +
        `errors ${inFlight.errors}, non-2xx ${inFlight.non2xx}, timeouts ${inFlight.timeouts}.`,
      '',
    )
  }
  lines.push(
    'Closed-loop latencies are as the closed-loop clients saw them (no correction); open-loop latencies are corrected for coordinated omission with the schedule’s real interval. See docs/capacity.md for how to read this report.',
    '',
  )
  return lines.join('\n')
}

function markdownTableToHtml(rows: readonly string[]): string {
  const cells = (row: string) =>
    row
      .replace(/^\|\s*/, '')
      .replace(/\s*\|$/, '')
      .split(' | ')
  const [head, , ...body] = rows
  if (head === undefined) return ''
  return [
    '<table>',
    `<thead><tr>${cells(head)
      .map((c) => `<th>${escapeXml(c)}</th>`)
      .join('')}</tr></thead>`,
    '<tbody>',
    ...body.map(
      (row) =>
        `<tr>${cells(row)
          .map((c) => `<td${c === 'MISSED' ? ' class="missed"' : ''}>${escapeXml(c)}</td>`)
          .join('')}</tr>`,
    ),
    '</tbody></table>',
  ].join('\n')
}

export function renderHtml(report: CapacityReport): string {
  const markdown = renderMarkdown(report).split('\n')
  const tableAfter = (heading: string): string[] => {
    const start = markdown.indexOf(heading)
    if (start < 0) return []
    const rows: string[] = []
    for (let i = start + 2; i < markdown.length && (markdown[i] ?? '').startsWith('|'); i++)
      rows.push(markdown[i] ?? '')
    return rows
  }
  /** A markdown section after `heading` up to the next one: paragraphs and tables. */
  const sectionHtml = (heading: string): string[] => {
    const start = markdown.indexOf(heading)
    if (start < 0) return []
    const html = [`<h2>${escapeXml(heading.replace(/^## /, ''))}</h2>`]
    let table: string[] = []
    for (let i = start + 1; i < markdown.length && !(markdown[i] ?? '').startsWith('## '); i++) {
      const line = markdown[i] ?? ''
      if (line.startsWith('|')) {
        table.push(line)
        continue
      }
      if (table.length > 0) html.push(markdownTableToHtml(table))
      table = []
      if (line !== '') html.push(`<p>${escapeXml(line)}</p>`)
    }
    if (table.length > 0) html.push(markdownTableToHtml(table))
    return html
  }
  const paragraphs = markdown.slice(4, 8).filter((line) => line !== '')
  const inFlight = markdown.find((line) => line.includes('connections held queries open')) ?? ''
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>Capacity report ${escapeXml(report.runId)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}',
    'table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}',
    'th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.missed{color:#b00;font-weight:bold}',
    '.verdict{font-size:1.1em;background:#f7f7ee;padding:1em;border-left:4px solid #999}svg{margin:1em 0;font-family:inherit}</style>',
    '</head><body>',
    `<h1>Capacity report ${escapeXml(report.runId)}</h1>`,
    `<p class="verdict">${escapeXml(report.verdict)}</p>`,
    ...paragraphs.map((line) => `<p>${escapeXml(line.replaceAll('`', ''))}</p>`),
    '<h2>Targets</h2>',
    markdownTableToHtml(tableAfter('## Targets')),
    '<h2>Charts</h2>',
    ...charts(report).map(lineChart),
    '<h2>Added latency by offered rate</h2>',
    markdownTableToHtml(tableAfter('## Added latency by offered rate (gateway minus direct, open loop)')),
    ...sectionHtml(floorHeading),
    '<h2>Steps</h2>',
    markdownTableToHtml(tableAfter('## Steps')),
    `<p>${escapeXml(proxyColumnsNote)}</p>`,
    inFlight === '' ? '' : `<h2>Queries in flight</h2><p>${escapeXml(inFlight)}</p>`,
    '<p>Closed-loop latencies are as the closed-loop clients saw them; open-loop latencies are corrected for coordinated omission. See docs/capacity.md.</p>',
    '</body></html>',
    '',
  ].join('\n')
}
