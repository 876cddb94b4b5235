import type { Report } from './report.ts'

/**
 * JUnit XML, as CI systems read it: one `<testsuite>` per scenario run, one `<testcase>` per
 * expectation (a failed one carries `<failure>` with expected and actual). A scenario that could not
 * run at all is a suite with one errored test case, `topology`.
 */

export type SuiteInput =
  | { report: Report; durationMs: number }
  | { scenario: string; error: { code: string; message: string }; durationMs: number }

export function junitXml(suites: readonly SuiteInput[]): string {
  const tests = suites.reduce(
    (sum, suite) => sum + ('report' in suite ? suite.report.expectations.length : 1),
    0,
  )
  const failures = suites.reduce(
    (sum, suite) => sum + ('report' in suite ? suite.report.expectations.filter((e) => !e.passed).length : 0),
    0,
  )
  const errors = suites.filter((suite) => 'error' in suite).length
  const time = seconds(suites.reduce((sum, suite) => sum + suite.durationMs, 0))
  const body = suites.map(suiteXml).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="scenarios" tests="${tests}" failures="${failures}" errors="${errors}" time="${time}">\n${body}</testsuites>\n`
}

function suiteXml(suite: SuiteInput): string {
  const time = seconds(suite.durationMs)
  if ('error' in suite) {
    const name = escapeXml(suite.scenario)
    return `  <testsuite name="${name}" tests="1" failures="0" errors="1" time="${time}">\n    <testcase classname="scenario.${name}" name="topology" time="${time}">\n      <error type="${escapeXml(suite.error.code)}" message="${escapeXml(firstLine(suite.error.message))}">${escapeXml(suite.error.message)}</error>\n    </testcase>\n  </testsuite>\n`
  }
  const { report } = suite
  const name = escapeXml(report.scenario)
  const failures = report.expectations.filter((expectation) => !expectation.passed).length
  const cases = report.expectations
    .map((expectation) => {
      const caseName = escapeXml(expectation.name)
      if (expectation.passed) return `    <testcase classname="scenario.${name}" name="${caseName}"/>\n`
      const text = `expected ${expectation.expected}\nactual ${expectation.actual}`
      return `    <testcase classname="scenario.${name}" name="${caseName}">\n      <failure type="expectation" message="${escapeXml(firstLine(text))}">${escapeXml(text)}</failure>\n    </testcase>\n`
    })
    .join('')
  const properties = `    <properties>\n      <property name="seed" value="${report.seed}"/>\n      <property name="codeVersion" value="${escapeXml(report.codeVersion)}"/>\n      <property name="routingDecisionDigest" value="${escapeXml(report.routingDecisionDigest)}"/>\n    </properties>\n`
  return `  <testsuite name="${name}" tests="${report.expectations.length}" failures="${failures}" errors="0" time="${time}">\n${properties}${cases}  </testsuite>\n`
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3)
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? ''
}

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot carry. */
export function escapeXml(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  )
}
