// The e2e harness: a real `wam serve --demo` on a free port with a temp
// data dir, Debian's chromium driven by playwright-core, and helpers that
// wait for conditions (never for fixed times).
import { execFile, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium } from 'playwright-core'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const ARTIFACTS = resolve(import.meta.dirname, '..', 'artifacts')
export const DEMO = { owner: 'demo@wam.local', agent: 'agent@wam.local', password: 'wam-demo', appSecret: 'wam-demo-app-secret', waba: '102290129340398', number: '106540352242922', display: '15550783881' }
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
    s.on('error', rej)
  })
}

/** until polls fn until it returns a truthy value, or fails naming what it waited for. */
export async function until(fn, what, timeout = 20_000, every = 50) {
  const end = Date.now() + timeout
  let last
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`)
    await new Promise((r) => setTimeout(r, every))
  }
}

export class Wam {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'wam-e2e-'))
    this.log = []
  }
  async start(port) {
    this.port = port ?? this.port ?? (await freePort())
    this.natsPort = this.natsPort ?? (await freePort())
    this.base = `http://127.0.0.1:${this.port}`
    const bin = join(ROOT, 'bin', 'wam')
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run make build first`)
    // Every browser context says it is another client (X-Forwarded-For, from
    // the trusted loopback), as distinct people would be, so that wam's
    // per-address sign-in limits count them apart. Replays go at 100 events
    // a second, so that a test sees one in progress; NATS listens on a
    // local port for the tests that publish to the stream themselves.
    this.proc = spawn(
      bin,
      ['serve', '--demo', '--demo-rate', '0', '--port', String(this.port), '--data-dir', this.dir, '--trusted-proxies', '127.0.0.1/32', '--replay-rate', '100', '--nats-listen', `127.0.0.1:${this.natsPort}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const onData = (d) => {
      const s = d.toString()
      this.log.push(s)
      const m = s.match(/"graph_api":"([^"]+)"/)
      if (m) this.sim = m[1]
    }
    this.proc.stdout.on('data', onData)
    this.proc.stderr.on('data', onData)
    this.exited = new Promise((r) => this.proc.on('exit', r))
    await until(async () => (await fetch(`${this.base}/readyz`)).ok && this.sim, 'wam serve --demo to be ready', 90_000, 200)
  }
  async stop() {
    if (!this.proc) return
    this.proc.kill('SIGTERM')
    await this.exited
    this.proc = null
    this.sim = null
  }
  async restart() {
    await this.stop()
    await this.start(this.port)
  }
  cleanup() {
    rmSync(this.dir, { recursive: true, force: true })
  }
  /** A simulated customer writes in; answers the wamid. */
  async customerWrites(waId, name, text, kind = 'text') {
    const r = await fetch(`${this.sim}/_sim/customers/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone_number_id: DEMO.number, wa_id: waId, name, text, kind }) })
    if (!r.ok) throw new Error(`sim: ${r.status} ${await r.text()}`)
    return (await r.json()).wamid
  }
  /** Post a webhook signed as Meta would, straight to wam. */
  async webhook(body) {
    const raw = JSON.stringify(body)
    const sig = 'sha256=' + createHmac('sha256', DEMO.appSecret).update(raw).digest('hex')
    const r = await fetch(`${this.base}/api/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig }, body: raw })
    if (!r.ok) throw new Error(`webhook: ${r.status} ${await r.text()}`)
  }
  /** login signs in over the API: the access token for the test's own calls, the refresh token for browser pages. */
  async login(email = DEMO.owner) {
    const r = await fetch(`${this.base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '10.255.0.1' }, body: JSON.stringify({ email, password: DEMO.password }) })
    if (!r.ok) throw new Error(`login ${email}: ${r.status} ${await r.text()}`)
    return r.json()
  }
  /** cli runs a wam command against this server's data dir (its PostgreSQL) and answers its JSON output. */
  cli(...args) {
    return new Promise((res, rej) => {
      execFile(join(ROOT, 'bin', 'wam'), [...args, '--data-dir', this.dir], { timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) return rej(new Error(`wam ${args.join(' ')}: ${err.message}\n${stderr}`))
        try {
          res(JSON.parse(stdout))
        } catch {
          rej(new Error(`wam ${args.join(' ')}: not JSON: ${stdout}\n${stderr}`))
        }
      })
    })
  }
  /**
   * publish puts an event straight into the stream over NATS's client
   * protocol, as a publisher of wam's with a bug would (the API refuses
   * what is not well formed): the way to a parked event.
   */
  publish(subject, payload) {
    return new Promise((res, rej) => {
      const sock = connect(this.natsPort, '127.0.0.1')
      let buf = ''
      const fail = (e) => {
        sock.destroy()
        rej(e)
      }
      sock.setTimeout(10_000, () => fail(new Error('NATS: no answer')))
      sock.on('error', fail)
      sock.on('data', (d) => {
        buf += d.toString()
        if (buf.startsWith('INFO') && !sock.sent) {
          sock.sent = true
          const inbox = `_INBOX.e2e${Date.now()}`
          // Ask JetStream for its ack: the event is stored once it answers.
          sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${inbox} 1\r\nPUB ${subject} ${inbox} ${Buffer.byteLength(payload)}\r\n${payload}\r\nPING\r\n`)
        }
        if (buf.includes('-ERR')) fail(new Error(`NATS: ${buf}`))
        const m = buf.match(/MSG \S+ 1 (\d+)\r\n/)
        if (m) {
          const body = buf.slice(buf.indexOf('\r\n', buf.indexOf('MSG ')) + 2).slice(0, Number(m[1]))
          if (body.length < Number(m[1])) return
          sock.end()
          const ack = JSON.parse(body)
          if (ack.error) rej(new Error(`JetStream: ${JSON.stringify(ack.error)}`))
          else res(ack.seq)
        }
      })
    })
  }
  async api(method, path, body, token, headers = {}) {
    const r = await fetch(`${this.base}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers }, body: body ? JSON.stringify(body) : undefined })
    const text = await r.text()
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
    return text ? JSON.parse(text) : null
  }
}

/** inboundWebhook is a Meta webhook of text messages from one customer. */
export function inboundWebhook(waId, name, messages) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: DEMO.waba,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: DEMO.display, phone_number_id: DEMO.number },
              contacts: [{ profile: { name }, wa_id: waId }],
              messages: messages.map((m) => ({ from: waId, id: m.id, timestamp: String(Math.floor(m.at / 1000)), type: 'text', text: { body: m.text } })),
            },
          },
        ],
      },
    ],
  }
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
}

let clients = 0

export async function newPage(browser, base, { width = 1440, height = 900, dark = false } = {}) {
  const n = ++clients
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: dark ? 'dark' : 'light', baseURL: base, extraHTTPHeaders: { 'X-Forwarded-For': `10.0.${n >> 8}.${n & 255}` } })
  const page = await ctx.newPage()
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  page.setDefaultTimeout(15_000)
  return page
}

export async function login(page, email, password = DEMO.password) {
  await page.goto('/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('heading', { name: 'Inbox' }).waitFor()
}

// Signed-in pages reuse one sign-in per person, handed from a closed page
// to the next (refresh tokens rotate: two pages may not hold the same one),
// as wam limits how often one account signs in.
const sessions = new Map()

export async function openAs(browser, wam, email, opts) {
  if (!sessions.has(email)) sessions.set(email, (await wam.login(email)).refresh_token)
  const page = await newPage(browser, wam.base, opts)
  await page.addInitScript((token) => {
    if (!sessionStorage.getItem('e2e.seeded')) {
      localStorage.setItem('wam.refresh', token)
      sessionStorage.setItem('e2e.seeded', '1')
    }
  }, sessions.get(email))
  sessions.delete(email)
  page.email = email
  await page.goto('/inbox')
  await page.getByRole('heading', { name: 'Inbox' }).waitFor()
  return page
}

/** close ends a page, keeping its sign-in for the next page of the same person. */
export async function close(page) {
  if (page.email) {
    const token = await page.evaluate(() => localStorage.getItem('wam.refresh')).catch(() => null)
    if (token) sessions.set(page.email, token)
  }
  await page.context().close()
}

export async function live(page) {
  await page.locator('[data-live="live"]').waitFor({ state: 'attached', timeout: 20_000 })
}

export function shotPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true })
  return join(ARTIFACTS, `${name}.png`)
}
