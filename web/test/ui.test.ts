/**
 * The web UI in a real headless Chromium (Debian's `chromium`, driven by playwright-core; nothing
 * is downloaded): an operator logs in, creates a backend and sees it Healthy, a query runs through
 * the gateway and shows on the History page with the cluster that ran it, the backend is
 * deactivated, a resource group and a selector are created, and forms refuse bad values naming the
 * field, both in the page and from the server. Each page is photographed into `reports/ui/`.
 *
 * Without a browser at `/usr/bin/chromium` (or `TGL_CHROMIUM`), the suite is skipped with that
 * reason; under CI (`CI` set) it fails instead, so CI can never pass without having run it.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningGateway, startGateway } from '../../gateway/index.ts'
import { testGatewayConfig } from '../../gateway/test-support/gateway.ts'
import { type RunningMockTrino, startMockTrino } from '../../mock-trino/index.ts'
import { openTestDatabase, type TestDatabase } from '../../test-support/database.ts'

const chromiumPath = process.env.TGL_CHROMIUM ?? '/usr/bin/chromium'
const browserFound = existsSync(chromiumPath)
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
export const screenshotDir = path.resolve(import.meta.dirname, '../../reports/ui')
/** How long the page may take to show what a step expects. */
const stepTimeoutMs = 15_000
/** The flags the machine's Chromium needs (no sandbox as root, no calls to Google's hosts). */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const adminPassword = 'operator-password'
const alicePassword = 'alice-password'

if (!browserFound && !inCi) {
  console.warn(
    `web UI browser suite skipped: no Chromium at ${chromiumPath} (install Debian's chromium: apt-get install -y chromium, or set TGL_CHROMIUM)`,
  )
}

describe.skipIf(!browserFound && !inCi)('the web UI in headless Chromium', () => {
  let database: TestDatabase
  let gateway: RunningGateway
  let trino: RunningMockTrino
  let browser: Browser
  let page: Page
  let rulesDir: string
  let aliceQuery = ''

  beforeAll(async () => {
    if (!browserFound) {
      throw new Error(
        `no Chromium at ${chromiumPath}: CI must install Debian's chromium (apt-get install -y chromium) so the browser suite runs`,
      )
    }
    await mkdir(screenshotDir, { recursive: true })
    rulesDir = await mkdtemp(path.join(tmpdir(), 'tgl-ui-rules-'))
    const rulesFile = path.join(rulesDir, 'rules.yaml')
    await writeFile(
      rulesFile,
      [
        '---',
        'name: "etl"',
        'description: "ETL sources go to the etl group"',
        'priority: 1',
        'condition: \'request.getHeader("X-Trino-Source") == "airflow"\'',
        'actions:',
        '  - \'result.put("routingGroup", "etl")\'',
        '',
      ].join('\n'),
    )
    database = await openTestDatabase()
    trino = await startMockTrino({ name: 'trino-ui-1', seed: 4 })
    gateway = await startGateway({
      config: testGatewayConfig(database.url, {
        authentication: { defaultType: 'form' },
        presetUsers: {
          operator: { password: adminPassword, privileges: 'ADMIN_USER_API' },
          alice: { password: alicePassword, privileges: 'USER' },
        },
        routingRules: { rulesEngineEnabled: true, rulesType: 'FILE', rulesConfigPath: rulesFile },
      }),
      seed: 8,
      logLevel: 'silent',
    })
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs })
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    page.setDefaultTimeout(stepTimeoutMs)
  })
  afterAll(async () => {
    await browser?.close()
    await gateway?.close()
    await trino?.close()
    await database?.close()
    if (rulesDir !== undefined) await rm(rulesDir, { recursive: true, force: true })
  })

  const shoot = (name: string) =>
    page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true })
  const open = async (pageId: string) => {
    await page.click(`nav a[data-page="${pageId}"]`)
    await page.waitForSelector(`main[data-current-page="${pageId}"]`)
  }

  it('shows the login page and refuses a wrong password', async () => {
    await page.goto(gateway.url)
    expect(page.url()).toBe(`${gateway.url}/trino-gateway`)
    await page.fill('input[name=username]', 'operator')
    await page.fill('input[name=password]', 'wrong')
    await page.click('button[type=submit]')
    await expect(page.locator('.form-error').textContent()).resolves.toBe('Authentication failed.')
    await shoot('login')
  })

  it('logs in and shows the dashboard', async () => {
    await page.fill('input[name=password]', adminPassword)
    await page.click('button[type=submit]')
    await page.waitForSelector('main[data-current-page="dashboard"]')
    const cookies = await page.context().cookies()
    const session = cookies.find((cookie) => cookie.name === 'token')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Strict')
    expect(session?.expires).toBeGreaterThan(Date.now() / 1000)
    await expect(page.evaluate('document.cookie')).resolves.toBe('')
  })

  it('refuses a bad proxyTo in the page, naming the field, then creates the backend and sees it Healthy', async () => {
    await open('cluster')
    await page.click('text=Create backend')
    await page.fill('input[name=name]', 'trino-ui-1')
    await page.fill('input[name=routingGroup]', 'adhoc')
    await page.fill('input[name=proxyTo]', 'trino-ui-1:8080')
    await page.click('form button[type=submit]')
    const error = page.locator('small.error[data-field="proxyTo"]')
    await expect(error.textContent()).resolves.toBe(
      'proxyTo: expected an http(s) URL such as http://trino-1:8080',
    )
    await shoot('cluster-invalid')
    await page.fill('input[name=proxyTo]', trino.url)
    await page.click('form button[type=submit]')
    await page.waitForSelector('tr[data-backend="trino-ui-1"]')
    const status = page.locator('tr[data-backend="trino-ui-1"] td.status')
    await expect
      .poll(
        async () => {
          await page.click('text=Refresh')
          return status.textContent()
        },
        { timeout: stepTimeoutMs },
      )
      .toBe('HEALTHY')
    await shoot('cluster')
  })

  it('refuses a duplicate backend with the server’s error', async () => {
    await page.click('text=Create backend')
    await page.fill('input[name=name]', 'trino-ui-1')
    await page.fill('input[name=proxyTo]', trino.url)
    await page.click('form button[type=submit]')
    await expect(page.locator('.form-error').textContent()).resolves.toContain('BACKEND_ALREADY_EXISTS')
    await page.click('form >> text=Cancel')
  })

  it('finds a query submitted through the gateway on the History page, with its cluster', async () => {
    const queryId = await runQuery(gateway.url, 'SELECT 1')
    aliceQuery = await runQuery(gateway.url, 'SELECT 2', 'alice')
    await open('dashboard')
    await page.waitForSelector('table.routing-group[data-group="adhoc"]')
    await shoot('dashboard')
    await open('history')
    await page.fill('form.filters input[name=queryId]', queryId)
    await page.click('form.filters button[type=submit]')
    const row = page.locator(`tr[data-query-id="${queryId}"]`)
    await expect(row.locator('td.backend').textContent()).resolves.toBe('trino-ui-1')
    await expect(row.locator('a').getAttribute('href')).resolves.toBe(`${trino.url}/ui/query.html?${queryId}`)
    await page.click('form.filters >> text=Clear')
    await page.waitForSelector(`tr[data-query-id="${queryId}"]`)
    await shoot('history')
  })

  it('deactivates the backend', async () => {
    await open('cluster')
    const row = page.locator('tr[data-backend="trino-ui-1"]')
    await row.locator('text=Deactivate').click()
    await expect.poll(() => row.locator('td.active').textContent(), { timeout: stepTimeoutMs }).toBe('no')
    await expect.poll(async () => (await backendJson(gateway.url, 'trino-ui-1')).active).toBe(false)
  })

  it('refuses a bad resource-group value in the page and from the server, then creates the group', async () => {
    await open('resource-group')
    await page.click('text=Create resource group')
    await page.fill('input[name=name]', 'global')
    await page.fill('input[name=environment]', 'test')
    await page.fill('input[name=hardConcurrencyLimit]', '10')
    await page.fill('input[name=maxQueued]', '-1')
    await page.click('form button[type=submit]')
    await expect(page.locator('small.error[data-field="maxQueued"]').textContent()).resolves.toBe(
      'maxQueued: expected maxQueued, an integer >= 0',
    )
    await page.fill('input[name=maxQueued]', '100')
    await page.fill('input[name=parent]', '999')
    await page.click('form button[type=submit]')
    // Only the server knows no group 999 exists.
    await expect(page.locator('small.error[data-field="parent"]').textContent()).resolves.toMatch(/^parent: /)
    await shoot('resource-group-invalid')
    await page.fill('input[name=parent]', '')
    await page.click('form button[type=submit]')
    await page.waitForSelector('tr[data-group="global"]')
    await shoot('resource-group')
  })

  it('creates a selector for the group', async () => {
    await open('selector')
    await page.click('text=Create selector')
    await page.fill('input[name=priority]', '1')
    await page.click('form button[type=submit]')
    await expect(page.locator('small.error[data-field="resourceGroupId"]').textContent()).resolves.toMatch(
      /^resourceGroupId: /,
    )
    const groupId = await page.locator('select[name=resourceGroupId] option').nth(1).getAttribute('value')
    await page.selectOption('select[name=resourceGroupId]', groupId ?? '')
    await page.fill('input[name=userRegex]', 'alice|bob')
    await page.click('form button[type=submit]')
    await page.waitForSelector(`tr[data-group-id="${groupId}"]`)
    await expect(page.locator(`tr[data-group-id="${groupId}"]`).textContent()).resolves.toContain('alice|bob')
    await shoot('selector')
  })

  it('lists and edits the routing rules, and shows the gateway status', async () => {
    await open('routing-rules')
    const rule = page.locator('tr[data-rule="etl"]')
    await rule.locator('text=Edit').click()
    await page.fill('input[name=priority]', 'first')
    await page.click('form button[type=submit]')
    await expect(page.locator('small.error[data-field="priority"]').textContent()).resolves.toMatch(
      /^priority: /,
    )
    await page.fill('input[name=priority]', '5')
    await page.click('form button[type=submit]')
    await expect.poll(() => rule.locator('td').first().textContent()).toBe('5')
    await shoot('routing-rules')
    await open('status')
    await expect(page.locator('#gateway-status dd.user').textContent()).resolves.toContain('operator')
    await shoot('status')
  })

  it('signs out; a user without admin sees no admin controls and only their own queries', async () => {
    await page.click('text=Sign out')
    await page.waitForSelector('form.login')
    await page.fill('input[name=username]', 'alice')
    await page.fill('input[name=password]', alicePassword)
    await page.click('button[type=submit]')
    await page.waitForSelector('main[data-current-page="status"]')
    await expect(page.locator('nav a[data-page="routing-rules"]').count()).resolves.toBe(0)
    await open('cluster')
    await page.waitForSelector('tr[data-backend="trino-ui-1"]')
    await expect(page.locator('text=Create backend').count()).resolves.toBe(0)
    await expect(page.locator('tr[data-backend="trino-ui-1"] button').count()).resolves.toBe(0)
    await open('history')
    await page.waitForSelector(`tr[data-query-id="${aliceQuery}"]`)
    const users = await page.locator('#history tbody tr td:nth-child(2)').allTextContents()
    expect(users).toEqual(['alice'])
    await shoot('history-user')
  })
})

/** Runs a statement through the gateway as a Trino client does; returns its query id. */
async function runQuery(gatewayUrl: string, sql: string, user = 'operator'): Promise<string> {
  const headers = { 'x-trino-user': user, 'x-trino-source': 'ui-test' }
  let answer = (await (
    await fetch(`${gatewayUrl}/v1/statement`, { method: 'POST', headers, body: sql })
  ).json()) as {
    id: string
    nextUri?: string
    stats?: { state?: string }
  }
  const id = answer.id
  for (let page = 0; answer.nextUri !== undefined && page < 1000; page += 1) {
    answer = (await (await fetch(answer.nextUri, { headers })).json()) as typeof answer
  }
  if (answer.nextUri !== undefined) throw new Error(`query ${id} did not finish`)
  return id
}

async function backendJson(gatewayUrl: string, name: string): Promise<{ active: boolean }> {
  const response = await fetch(`${gatewayUrl}/api/public/backends/${name}`)
  return (await response.json()) as { active: boolean }
}
