// End-to-end tests of the operators' console (/ops) and a tenant's History
// page, run by run.mjs against the same `wam serve --demo`. The operator is
// made with `wam operator create`, a second tenant and its number with
// `wam tenant create` and `wam number add`, as an installation's operator
// would; webhooks are signed as Meta signs them.
import { readFileSync } from 'node:fs'
import { DEMO, close, inboundWebhook, newPage, openAs, shotPath, until } from './harness.mjs'

const OTHER_NUMBER = '777000111'
// At the e2e server's 100 events a second, a replay of them takes three
// batches of 250, the second one's progress reported while the third waits.
const OTHER_HOOKS = 600

/** hookFor is a webhook of one text message to number (another tenant's, or nobody's). */
function hookFor(number, waba, waId, name, id, text) {
  const body = inboundWebhook(waId, name, [{ id, at: Date.now(), text }])
  body.entry[0].id = waba
  body.entry[0].changes[0].value.metadata = { display_phone_number: '15550001111', phone_number_id: number }
  return body
}

async function inBatches(n, size, fn) {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)))
}

export async function opsTests({ test, wam, browser, uniq, ownerToken }) {
  const ctx = {}
  let session = null
  const opsSession = async () => {
    if (!session || session.expiresAt < Date.now() + 120_000) {
      const r = await fetch(`${wam.base}/api/ops/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '10.254.0.1' }, body: JSON.stringify({ email: 'ops@wam.local', password: ctx.password }) })
      if (!r.ok) throw new Error(`operator login: ${r.status} ${await r.text()}`)
      const s = await r.json()
      session = { token: s.access_token, operator: s.operator, expiresAt: Date.now() + s.expires_in * 1000 }
    }
    return session
  }
  const opsGet = async (path) => wam.api('GET', path, null, (await opsSession()).token)
  /** openOps is a page of the console, signed in as the operator (this tab's session). */
  const openOps = async (path, opts) => {
    const s = await opsSession()
    const page = await newPage(browser, wam.base, opts)
    await page.addInitScript((v) => sessionStorage.setItem('wam.ops.session', v), JSON.stringify(s))
    await page.goto(path)
    return page
  }
  const run = uniq('ops')
  let other, demo, mineRaw, ready

  // What the tests share, made once, by the first of them that runs: the
  // operator (signed in once over the API for the pages, as sign-ins are
  // limited per account, and once through the sign-in page by the first
  // test), another tenant with a number of its own and its webhooks, one
  // webhook nobody owns, and a webhook of the demo tenant's whose bytes
  // the tests compare.
  const setup = () =>
    (ready ??= (async () => {
      ctx.password = (await wam.cli('operator', 'create', '--email', 'ops@wam.local', '--name', 'Olga Operator')).temporary_password
      other = await wam.cli('tenant', 'create', '--name', 'Other Shop')
      await wam.cli('number', 'add', '--tenant', other.tenant_id, '--phone-number-id', OTHER_NUMBER, '--display-phone-number', '+15550001111')
      demo = (await wam.api('GET', '/api/tenant', null, ownerToken)).id
      await inBatches(OTHER_HOOKS, 10, (i) => wam.webhook(hookFor(OTHER_NUMBER, '999000111', `1555111${String(i).padStart(4, '0')}`, `Other ${i}`, `wamid.${run}.other.${i}`, `for the other shop ${i}`)))
      await wam.webhook(hookFor('5550009999', '999000999', '15552220000', 'Nobody', `wamid.${run}.unrouted`, 'to a number nobody connected'))
      const mine = inboundWebhook('15553330000', 'Raw Rita', [{ id: `wamid.${run}.mine`, at: Date.now(), text: 'Exactly these bytes, please' }])
      await wam.webhook(mine)
      mineRaw = JSON.stringify(mine)
      const seqOf = async (q, wamid) =>
        until(async () => {
          for (const w of (await opsGet(`/api/ops/webhooks?${q}&limit=10`)).data) {
            const d = await opsGet(`/api/ops/webhooks/${w.seq}`)
            if (d.missing.includes(wamid) || d.touched.some((t) => t.wamid === wamid)) return w.seq
          }
        }, `the webhook of ${wamid} in the history`)
      ctx.mineSeq = await seqOf(`tenant_id=${demo}`, `wamid.${run}.mine`)
      ctx.unroutedSeq = await seqOf('unrouted=true', `wamid.${run}.unrouted`)
      await until(async () => (await opsGet(`/api/ops/webhooks?tenant_id=${other.tenant_id}&limit=200`)).data.length === 200, "the other tenant's webhooks in the history")
    })())

  await test("operators: sign in at /ops/login, see the demo tenant's webhooks, open one: its raw JSON, copied and downloaded byte for byte", async () => {
    await setup()
    const page = await newPage(browser, wam.base)
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: wam.base })
    await page.goto(`/ops/webhooks?tenant_id=${demo}`)
    await page.waitForURL(/\/ops\/login\?next=/)
    await page.getByLabel('Email').fill('ops@wam.local')
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'do not match an operator account' }).waitFor()
    await page.getByLabel('Password').fill(ctx.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    // Back where it was going, with its filter.
    await page.waitForURL((u) => u.pathname === '/ops/webhooks' && u.searchParams.get('tenant_id') === demo)
    await page.locator(`[data-webhook="${ctx.mineSeq}"]`).waitFor()
    // Each row counts what its webhook carries: this one a text message.
    await page.locator(`[data-webhook="${ctx.mineSeq}"] [data-counts]`).filter({ hasText: /^1 message$/ }).waitFor()
    const tenants = await page.locator('[data-webhook]').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.tenant))])
    if (tenants.length !== 1 || tenants[0] !== demo) throw new Error(`rows of tenants ${tenants} under the demo tenant's filter`)
    // Every tenant's, then only the unrouted ones (the form, not the URL).
    await page.getByRole('button', { name: 'Clear' }).click()
    await page.waitForURL((u) => u.pathname === '/ops/webhooks' && !u.search)
    await until(async () => (await page.locator('[data-webhook]').evaluateAll((els) => new Set(els.map((e) => e.dataset.tenant)).size)) >= 2, 'webhooks of several tenants')
    await page.getByLabel('Unrouted only').check()
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL(/unrouted=true/)
    await page.locator(`[data-webhook="${ctx.unroutedSeq}"]`).getByText('unrouted').waitFor()
    await until(async () => (await page.locator('[data-webhook]').evaluateAll((els) => els.every((e) => e.dataset.tenant === 'unrouted'))) === true, 'only unrouted rows')
    // The demo tenant's webhook: what the projector made of it, and its bytes.
    await page.goto(`/ops/webhooks?tenant_id=${demo}`)
    await page.locator(`[data-webhook="${ctx.mineSeq}"]`).click()
    const sheet = page.getByRole('dialog', { name: `Webhook #${ctx.mineSeq}` })
    await sheet.getByTestId('webhook-counts').filter({ hasText: '1 message, 0 statuses' }).waitFor()
    await sheet.getByText(`wamid.${run}.mine`).first().waitFor()
    const raw = sheet.getByTestId('raw-json')
    await until(async () => (await raw.innerText()).includes('\n  "object": "whatsapp_business_account",'), 'the raw JSON, pretty-printed')
    await sheet.getByRole('button', { name: 'As sent' }).click()
    await until(async () => (await raw.innerText()) === mineRaw, 'the raw view as sent, byte for byte')
    await sheet.getByRole('button', { name: 'Copy: copy' }).click()
    await until(async () => (await page.evaluate(() => navigator.clipboard.readText())) === mineRaw, 'the copied text to be the bytes as sent')
    const [download] = await Promise.all([page.waitForEvent('download'), sheet.getByRole('button', { name: 'Download' }).click()])
    if (download.suggestedFilename() !== `webhook-${ctx.mineSeq}.json`) throw new Error(`downloaded as ${download.suggestedFilename()}`)
    const bytes = readFileSync(await download.path(), 'utf8')
    if (bytes !== mineRaw) throw new Error(`the download differs from what was sent:\n${bytes}\n${mineRaw}`)
    await page.keyboard.press('Escape')
    await page.waitForURL((u) => !u.searchParams.has('seq'))
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await page.context().close()
  })

  await test("operators: the webhooks filtered by a message's wamid are that message's; by a contact's phone, that contact's only", async () => {
    await setup()
    const page = await openOps('/ops/webhooks')
    await page.locator('[data-webhook]').first().waitFor()
    const shown = () => page.locator('[data-webhook]').evaluateAll((els) => els.map((e) => Number(e.dataset.webhook)))
    // By wamid, through the form: the message's inbound webhook, and nothing else (it has no status).
    await page.getByLabel('Message id (wamid)').fill(`wamid.${run}.mine`)
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL((u) => u.searchParams.get('wamid') === `wamid.${run}.mine`)
    await until(async () => JSON.stringify(await shown()) === JSON.stringify([ctx.mineSeq]), `only webhook #${ctx.mineSeq} under the wamid filter`)
    const byWamid = (await opsGet(`/api/ops/webhooks?wamid=${encodeURIComponent(`wamid.${run}.mine`)}&limit=50`)).data.map((w) => w.seq)
    if (JSON.stringify(byWamid) !== JSON.stringify([ctx.mineSeq])) throw new Error(`the API's webhooks of the wamid: ${byWamid}`)
    // A wamid of the other shop's: its own webhook, another one.
    await page.getByLabel('Message id (wamid)').fill(`wamid.${run}.other.7`)
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await until(async () => {
      const seqs = await shown()
      if (seqs.length !== 1 || seqs[0] === ctx.mineSeq) return false
      const d = await opsGet(`/api/ops/webhooks/${seqs[0]}`)
      return d.touched.some((t) => t.wamid === `wamid.${run}.other.7`) || d.missing.includes(`wamid.${run}.other.7`)
    }, "the other shop's message's one webhook under its wamid")
    // By contact phone, written as E.164: Rita's webhooks, the same the API lists, not the other shop's nor the unrouted one.
    await page.getByLabel('Message id (wamid)').fill('')
    await page.getByLabel('Contact phone').fill('+15553330000')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.waitForURL((u) => u.searchParams.has('contact_phone') && !u.searchParams.has('wamid'))
    await until(async () => {
      const want = (await opsGet(`/api/ops/webhooks?contact_phone=${encodeURIComponent('+15553330000')}&limit=50`)).data.map((w) => w.seq)
      const seqs = await shown()
      return want.includes(ctx.mineSeq) && JSON.stringify(seqs) === JSON.stringify(want)
    }, "Rita's webhooks only under the contact phone filter")
    const tenants = await page.locator('[data-webhook]').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.tenant))])
    if (tenants.length !== 1 || tenants[0] !== demo) throw new Error(`rows of tenants ${tenants} under Rita's phone`)
    if ((await shown()).includes(ctx.unroutedSeq)) throw new Error("the unrouted webhook under Rita's phone")
    // Another contact's number shows theirs, not Rita's.
    await page.getByLabel('Contact phone').fill('15551110007')
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await until(async () => {
      const seqs = await shown()
      return seqs.length === 1 && !seqs.includes(ctx.mineSeq) && (await page.locator('[data-webhook]').first().getAttribute('data-tenant')) === other.tenant_id
    }, "the other shop's contact's one webhook")
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await page.context().close()
  })

  await test('operators: a dry-run count, then a re-project replay shows its progress to the end; another is cancelled', async () => {
    await setup()
    const page = await openOps(`/ops/webhooks?tenant_id=${other.tenant_id}`)
    await page.locator('[data-webhook]').first().waitFor()
    await page.getByRole('button', { name: 'Replay these…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Replay webhooks' })
    if ((await dialog.getByLabel('Tenant id', { exact: true }).inputValue()) !== other.tenant_id) throw new Error("the dialog does not select the list's tenant")
    await dialog.getByRole('button', { name: 'Count (dry run)' }).click()
    await dialog.getByTestId('replay-count').filter({ hasText: `${OTHER_HOOKS} webhooks match` }).waitFor()
    await page.screenshot({ path: shotPath('ops-replay-dry-run-desktop-light') })
    const counted = await wam.api('POST', '/api/ops/replays', { mode: 'reproject', dry_run: true, tenant_id: other.tenant_id }, (await opsSession()).token)
    if (counted.matched !== OTHER_HOOKS) throw new Error(`the API counts ${counted.matched}`)
    await dialog.getByRole('button', { name: `Re-project ${OTHER_HOOKS} webhooks` }).click()
    const started = page.getByRole('dialog', { name: 'Replay started' })
    const row = started.locator('[data-replay]')
    // The progress as it goes: part done, then all of it.
    const seen = new Set()
    await until(async () => {
      const state = await row.getAttribute('data-state')
      const now = Number(await row.getByRole('progressbar').getAttribute('aria-valuenow'))
      const part = now > 0 && now < 100
      if (state === 'running' && part && !seen.has('running:part')) await page.screenshot({ path: shotPath('ops-replay-progress-desktop-light') })
      seen.add(`${state}:${part ? 'part' : now}`)
      return state === 'finished' && now === 100
    }, 'the replay to finish', 60_000, 100)
    if (!seen.has('running:part')) throw new Error(`no progress seen on the way: ${[...seen]}`)
    await row.getByTestId('replay-done').filter({ hasText: `${OTHER_HOOKS} of ${OTHER_HOOKS}` }).waitFor()
    await started.getByRole('link', { name: 'All replays' }).click()
    await page.waitForURL(/\/ops\/replays$/)
    // A second one, from the jobs' page, cancelled while it runs.
    await page.getByRole('button', { name: 'New replay…' }).click()
    const again = page.getByRole('dialog', { name: 'Replay webhooks' })
    await again.getByLabel('Tenant id', { exact: true }).fill(other.tenant_id)
    await again.getByRole('button', { name: 'Count (dry run)' }).click()
    await again.getByRole('button', { name: `Re-project ${OTHER_HOOKS} webhooks` }).click()
    const second = page.getByRole('dialog', { name: 'Replay started' }).locator('[data-replay]')
    await second.getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('dialog', { name: 'Replay started' }).locator('[data-replay][data-state="cancelled"]').waitFor({ timeout: 30_000 })
    const id = await second.getAttribute('data-replay')
    await page.getByRole('button', { name: 'Close' }).first().click()
    await page.locator(`[data-replay="${id}"][data-state="cancelled"]`).waitFor()
    await page.locator('[data-replay][data-state="finished"]').first().waitFor()
    // Both are in the operators' audit log.
    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.locator('[data-audit="replay.requested"]').first().waitFor()
    await page.locator('[data-audit="replay.cancelled"]').first().waitFor()
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await page.context().close()
  })

  await test('operators: a parked event shows its error, event and headers; the owner sees it read-only; a retry keeps it parked, a discard with a reason ends it', async () => {
    await setup()
    // A malformed event of the demo tenant's, straight into the stream: the projector parks it.
    const seq = await wam.publish(`wam.${demo}.conversation.note_added`, '{"conversation_id": not json')
    ctx.parkedSeq = seq
    await until(async () => (await opsGet('/api/ops/parked?limit=200')).data.some((e) => e.seq === seq), 'the event to be parked')
    // The tenant's owner sees it, and cannot act on it.
    const owner = await openAs(browser, wam, DEMO.owner)
    await owner.goto('/history/parked')
    const mine = owner.locator(`[data-parked="${seq}"]`)
    await mine.getByTestId('parked-error').filter({ hasText: 'invalid character' }).waitFor()
    if (await owner.getByRole('button', { name: /Retry|Discard/ }).count()) throw new Error('the owner is offered to retry or discard')
    await close(owner)
    const page = await openOps('/ops/parked')
    const item = page.locator(`[data-parked="${seq}"]`)
    await item.getByTestId('parked-error').filter({ hasText: 'conversation.note_added' }).waitFor()
    await item.getByText('Event and headers').click()
    await item.getByLabel(`Event #${seq}`).filter({ hasText: '{"conversation_id": not json' }).waitFor()
    await page.screenshot({ path: shotPath('ops-parked-event-desktop-light') })
    await item.getByRole('button', { name: `Retry #${seq}` }).click()
    await page.getByTestId('retry-result').filter({ hasText: 'Retried 1: 0 applied, 1 still parked.' }).waitFor()
    await item.getByRole('button', { name: `Discard #${seq}` }).click()
    const dialog = page.getByRole('dialog', { name: `Discard parked event #${seq}` })
    if (!(await dialog.getByRole('button', { name: 'Discard' }).isDisabled())) throw new Error('a discard without a reason is offered')
    await dialog.getByLabel('Reason').fill('e2e: a malformed note that no fix will make valid')
    await dialog.getByRole('button', { name: 'Discard' }).click()
    await page.getByTestId('retry-result').filter({ hasText: `Discarded #${seq}.` }).waitFor()
    await until(async () => (await page.locator(`[data-parked="${seq}"]`).count()) === 0, 'the discarded event to leave the list')
    if ((await opsGet('/api/ops/parked?limit=200')).data.some((e) => e.seq === seq)) throw new Error('still parked in the API')
    const audit = await opsGet('/api/ops/audit-log?limit=50')
    if (!audit.data.some((e) => e.action.includes('discard') && JSON.stringify(e.detail).includes('no fix will make valid'))) throw new Error(`no audited discard: ${JSON.stringify(audit.data.slice(0, 5))}`)
    await page.context().close()
  })

  await test('operators: stats, sampled every 2 s, chart the ingest rate and each projector’s rate and lag', async () => {
    await setup()
    const page = await openOps('/ops/stats')
    await page.getByRole('table').locator('[data-projector="inbox"]').waitFor()
    let n = 0
    await until(
      async () => {
        // Traffic while the page samples: a few webhooks every half second.
        await inBatches(3, 3, () => wam.webhook(inboundWebhook(`1555444${String(n % 1000).padStart(4, '0')}`, 'Stats Sam', [{ id: `wamid.${run}.stats.${n++}`, at: Date.now(), text: 'counted' }])))
        const ingest = page.locator('[data-chart="Ingest rate"]')
        return Number(await ingest.getAttribute('data-points')) >= 2 && Number(await ingest.getAttribute('data-peak')) > 0
      },
      'an ingest rate above zero in the chart',
      60_000,
      500,
    )
    for (const chart of ['Projector rate', 'Projector lag (events)', 'Projector lag (seconds)']) {
      const c = page.locator(`[data-chart="${chart}"]`)
      if (Number(await c.getAttribute('data-points')) < 2) throw new Error(`${chart}: ${await c.getAttribute('data-points')} points`)
      await c.locator('path[data-series="inbox"]').waitFor({ state: 'attached' })
    }
    const d = await page.locator('[data-chart="Ingest rate"] path').getAttribute('d')
    if (!/^M[\d.]+,[\d.]+( L[\d.]+,[\d.]+)+$/.test(d)) throw new Error(`ingest path ${d}`)
    // Each projector's runner state, the sender's figures and its queue per number, as the API has them.
    await until(async () => {
      const api = await opsGet('/api/ops/stats')
      const inbox = api.projectors.find((p) => p.name === 'inbox')
      const badge = (await page.locator('[data-projector="inbox"]').getByTestId('projector-state').innerText()).trim()
      const queued = (await page.locator('dt', { hasText: /^Queued$/ }).locator('xpath=following-sibling::dd[1]').innerText()).trim()
      const rows = await page.locator('[data-number]').evaluateAll((els) => els.map((e) => `${e.dataset.number}:${e.dataset.held}`).sort())
      const want = api.sender.by_number.map((n) => `${n.phone_number_id}:${n.held}`).sort()
      const empty = want.length === 0 ? (await page.getByText('No send waiting.').count()) === 1 : true
      return badge === inbox.state.replace('_', ' ') && queued === api.sender.queued.toLocaleString('en-US') && JSON.stringify(rows) === JSON.stringify(want) && empty
    }, "the projectors' states and the sender's queue as the API reports them", 20_000, 500)
    if (!['running', 'yielding'].includes(await page.locator('[data-projector="inbox"]').getByTestId('projector-state').innerText())) throw new Error('the inbox projector is not shown running')
    await page.getByTestId('sender-here').filter({ hasText: 'active sender' }).waitFor()
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await page.context().close()
  })

  await test("History: an owner sees only the tenant's webhooks, opens one and its raw JSON, counts a replay; an agent is refused", async () => {
    await setup()
    const page = await openAs(browser, wam, DEMO.owner)
    await page.getByRole('link', { name: 'History' }).click()
    await page.waitForURL(/\/history$/)
    await page.locator('[data-webhook]').first().waitFor()
    // The same first page the operator sees under the tenant's filter, and nothing else.
    await until(async () => {
      const expect = (await opsGet(`/api/ops/webhooks?tenant_id=${demo}&limit=50`)).data.map((w) => w.seq)
      const shown = await page.locator('[data-webhook]').evaluateAll((els) => els.map((e) => Number(e.dataset.webhook)))
      if (JSON.stringify(shown) === JSON.stringify(expect)) return true
      await page.getByRole('button', { name: 'Refresh' }).click() // the last webhooks were still being projected
    }, "the list to be the tenant's first page", 20_000, 500)
    if (await page.getByLabel('Tenant id', { exact: true }).count()) throw new Error("a tenant's page offers the tenant filter")
    await page.getByLabel('Phone number id').fill(OTHER_NUMBER)
    await page.getByRole('button', { name: 'Apply filters' }).click()
    await page.getByText('No webhook matches these filters.').waitFor()
    await page.goto(`/history/webhooks?seq=${ctx.mineSeq}`)
    const sheet = page.getByRole('dialog', { name: `Webhook #${ctx.mineSeq}` })
    await sheet.getByRole('link', { name: 'Open conversation' }).waitFor()
    await until(async () => (await sheet.getByTestId('raw-json').innerText()).includes('"text": {\n'), 'the raw JSON, pretty-printed')
    await page.goto(`/history/webhooks?seq=${ctx.unroutedSeq}`)
    await page.getByRole('dialog').getByRole('alert').waitFor() // not the tenant's: 404
    await page.goto('/history/webhooks?kind=messages')
    await page.locator('[data-webhook]').first().waitFor()
    await page.getByRole('button', { name: 'Replay these…' }).click()
    const dialog = page.getByRole('dialog', { name: 'Replay webhooks' })
    await dialog.getByRole('button', { name: 'Count (dry run)' }).click()
    const { matched } = await wam.api('POST', '/api/replays', { mode: 'reproject', dry_run: true, kind: 'messages' }, ownerToken)
    await dialog.getByTestId('replay-count').filter({ hasText: `${matched.toLocaleString('en-US')} ${matched === 1 ? 'webhook matches' : 'webhooks match'}` }).waitFor()
    await page.keyboard.press('Escape')
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await close(page)
    const agent = await openAs(browser, wam, DEMO.agent)
    if (await agent.getByRole('link', { name: 'History' }).count()) throw new Error('the agent is shown a History link')
    await agent.goto('/history')
    await agent.getByRole('alert').filter({ hasText: 'History is for owners and admins' }).waitFor()
    if (await agent.locator('[data-webhook]').count()) throw new Error('the agent sees webhooks')
    const agentToken = (await wam.login(DEMO.agent)).access_token
    const r = await fetch(`${wam.base}/api/webhooks`, { headers: { Authorization: `Bearer ${agentToken}` } })
    if (r.status !== 403) throw new Error(`an agent's GET /api/webhooks: ${r.status}`)
    await close(agent)
  })

  await test("a tenant user cannot open /ops: the console wants an operator, refuses the user's password, and the user's token gets 403 there", async () => {
    await setup()
    for (const path of ['/api/ops/webhooks', '/api/ops/stats', '/api/ops/parked']) {
      const r = await fetch(`${wam.base}${path}`, { headers: { Authorization: `Bearer ${ownerToken}` } })
      if (r.status !== 403) throw new Error(`the owner's token on ${path}: ${r.status}`)
    }
    const r = await fetch(`${wam.base}/api/webhooks`, { headers: { Authorization: `Bearer ${(await opsSession()).token}` } })
    if (r.status !== 403) throw new Error(`the operator's token on a tenant's route: ${r.status}`)
    const page = await openAs(browser, wam, DEMO.owner)
    const sent = []
    page.on('request', (req) => {
      if (new URL(req.url()).pathname.startsWith('/api/ops/')) sent.push(`${new URL(req.url()).pathname} ${req.headers().authorization ? 'with a token' : 'without a token'}`)
    })
    await page.goto('/ops/webhooks')
    await page.waitForURL(/\/ops\/login/)
    await page.getByTestId('tenant-session-note').waitFor()
    await page.getByLabel('Email').fill(DEMO.owner)
    await page.getByLabel('Password').fill(DEMO.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'Workspace accounts' }).waitFor()
    if (await page.locator('[data-webhook]').count()) throw new Error('webhooks shown to a tenant user')
    if (JSON.stringify(sent) !== JSON.stringify(['/api/ops/auth/login without a token'])) throw new Error(`requests to /api/ops: ${sent}`)
    // Their workspace sign-in is intact.
    await page.goto('/inbox')
    await page.getByRole('heading', { name: 'Inbox' }).waitFor()
    await close(page)
    // And the operator's session opens no workspace.
    const ops = await openOps('/inbox')
    await ops.waitForURL(/\/login/)
    await ops.getByRole('button', { name: 'Log in' }).waitFor()
    await ops.context().close()
  })

  await test('operators: an online rebuild started from the console shows its progress to done; the list is the API\'s; a cancel after it ended is refused', async () => {
    await setup()
    const page = await openOps('/ops/rebuild')
    await page.getByLabel('Tenant id', { exact: true }).fill(demo)
    await page.getByRole('button', { name: 'Start rebuild…' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Start the rebuild' }).click()
    const row = page.locator('[data-rebuild]').first()
    await row.waitFor()
    const id = await row.getAttribute('data-rebuild')
    // Cancel asked for while the row shows it running; the demo's rebuild
    // ends in about a second, so the confirmation waits for the API to say
    // it ended: the cancel is then refused, and said so.
    let confirmed = false
    if ((await row.getAttribute('data-state')) === 'running') {
      await row.getByRole('button', { name: `Cancel rebuild ${id.slice(0, 8)}` }).click({ timeout: 2000 }).then(() => (confirmed = true), () => undefined)
    }
    if (confirmed) {
      const dialog = page.getByRole('dialog', { name: `Cancel rebuild ${id.slice(0, 8)}?` })
      await dialog.waitFor()
      await until(async () => (await opsGet(`/api/ops/rebuilds/${id}`)).state === 'done', 'the rebuild to end', 120_000)
      await dialog.getByRole('button', { name: 'Cancel the rebuild' }).click()
      await page.locator(`[data-rebuild="${id}"]`).getByRole('alert').filter({ hasText: 'already ended' }).waitFor()
      await page.screenshot({ path: shotPath('ops-rebuild-cancel-refused-desktop-light') })
    } else console.log('     (the rebuild ended before its Cancel could be clicked: the refusal was not seen in the page this run)')
    await page.locator(`[data-rebuild="${id}"][data-state="done"]`).waitFor({ timeout: 120_000 })
    await until(async () => (await row.getByRole('progressbar').getAttribute('aria-valuenow')) === '100', 'the bar full')
    if (await page.locator(`[data-rebuild="${id}"]`).getByRole('button', { name: /Cancel rebuild/ }).count()) throw new Error('a finished rebuild is offered a cancel')
    await page.screenshot({ path: shotPath('ops-rebuild-done-desktop-light') })
    const job = await opsGet(`/api/ops/rebuilds/${id}`)
    if (job.state !== 'done' || job.tenant_id !== demo || job.events_done < 1) throw new Error(`rebuild ${JSON.stringify(job)}`)
    // The API refuses the cancel of a finished job too; the job stays done.
    const r = await fetch(`${wam.base}/api/ops/rebuilds/${id}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${(await opsSession()).token}` } })
    if (r.status !== 409) throw new Error(`cancel of a finished rebuild: ${r.status}`)
    // The list is the API's, in a new tab too (no memory of this one's).
    const fresh = await openOps('/ops/rebuild')
    const want = (await opsGet('/api/ops/rebuilds?limit=20')).data.map((j) => `${j.id}:${j.state}`)
    await until(async () => JSON.stringify(await fresh.locator('[data-rebuild]').evaluateAll((els) => els.map((e) => `${e.dataset.rebuild}:${e.dataset.state}`))) === JSON.stringify(want), "the tab's list to be the API's")
    await fresh.locator(`[data-rebuild="${id}"][data-state="done"]`).waitFor()
    if (page.errors.length || fresh.errors.length) throw new Error(`page errors: ${[...page.errors, ...fresh.errors].join('; ')}`)
    await fresh.context().close()
    await page.context().close()
  })

  await test('screenshots: the operator console and History; light and dark; desktop and phone', async () => {
    await setup()
    // One console page for all of them, moved between tabs by its links, so
    // that the stats it samples every 2 s add up; traffic meanwhile.
    const page = await openOps('/ops/stats')
    let n = 0
    await until(
      async () => {
        await inBatches(4, 4, () => wam.webhook(inboundWebhook(`1555666${String(n % 1000).padStart(4, '0')}`, 'Shot Sue', [{ id: `wamid.${run}.shot.${n++}`, at: Date.now(), text: 'for the pictures' }])))
        return Number(await page.locator('[data-chart="Ingest rate"]').getAttribute('data-points')) >= 6
      },
      'six ingest samples',
      60_000,
      400,
    )
    const tab = async (name, ready) => {
      await page.getByRole('navigation', { name: 'Operator console' }).getByRole('link', { name }).click()
      await ready()
    }
    for (const dark of [false, true]) {
      await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' })
      for (const [device, width, height] of [
        ['desktop', 1440, 900],
        ['phone', 390, 844],
      ]) {
        const mode = dark ? 'dark' : 'light'
        await page.setViewportSize({ width, height })
        await tab('Stats', () => page.locator('[data-chart="Ingest rate"] path').waitFor({ state: 'attached' }))
        await page.screenshot({ path: shotPath(`ops-stats-${device}-${mode}`) })
        // The projectors' states and the sender, below the charts (the console scrolls inside its frame).
        await page.locator('[data-projector="inbox"]').scrollIntoViewIfNeeded()
        await page.screenshot({ path: shotPath(`ops-stats-workers-${device}-${mode}`) })
        await tab('Webhooks', () => page.locator('[data-webhook]').first().waitFor())
        await page.screenshot({ path: shotPath(`ops-webhooks-${device}-${mode}`) })
        await page.locator(`[data-webhook]`).first().click()
        await page.getByTestId('raw-json').filter({ hasText: 'whatsapp_business_account' }).waitFor()
        await page.screenshot({ path: shotPath(`ops-webhook-detail-${device}-${mode}`) })
        await page.keyboard.press('Escape')
        await tab('Replays', () => page.locator('[data-replay]').or(page.getByText('No replay yet.')).first().waitFor())
        await page.screenshot({ path: shotPath(`ops-replays-${device}-${mode}`) })
        await tab('Parked', () => page.locator('[data-parked]').or(page.getByText('No parked event')).first().waitFor())
        await page.screenshot({ path: shotPath(`ops-parked-${device}-${mode}`) })
        await tab('Rebuild', () => page.locator('[data-rebuild]').or(page.getByText('No rebuild yet.')).first().waitFor())
        await page.screenshot({ path: shotPath(`ops-rebuild-${device}-${mode}`) })
        const owner = await openAs(browser, wam, DEMO.owner, { width, height, dark })
        await owner.goto('/history')
        await owner.locator('[data-webhook]').first().waitFor()
        await owner.screenshot({ path: shotPath(`history-webhooks-${device}-${mode}`) })
        await owner.goto(`/history/webhooks?seq=${ctx.mineSeq}`)
        await owner.getByTestId('raw-json').filter({ hasText: 'whatsapp_business_account' }).waitFor()
        await owner.screenshot({ path: shotPath(`history-webhook-detail-${device}-${mode}`) })
        if (owner.errors.length) throw new Error(`page errors: ${owner.errors.join('; ')}`)
        await close(owner)
      }
    }
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await page.context().close()
  })
}
