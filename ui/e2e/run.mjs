// End-to-end tests of the web app against a real `wam serve --demo`
// (make e2e). Each test names what it shows; a failure prints why and the
// run exits non-zero. Screenshots and figures go to ui/artifacts/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ARTIFACTS, DEMO, Wam, close, inboundWebhook, launch, live, login, newPage, openAs, shotPath, until } from './harness.mjs'
import { opsTests } from './ops.mjs'

const only = process.argv.slice(2)
const wam = new Wam()
const results = []
const figures = {}
let browser

async function test(name, fn) {
  if (only.length && !only.some((o) => name.includes(o))) return
  const t0 = Date.now()
  try {
    await fn()
    results.push({ name, ok: true, ms: Date.now() - t0 })
    console.log(`ok   ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: e.stack || String(e) })
    // What the pages showed when it failed, for the one reading the log.
    let i = 0
    for (const ctx of browser?.contexts() ?? []) {
      for (const p of ctx.pages()) {
        await p.screenshot({ path: shotPath(`failed-${name.slice(0, 40).replace(/\W+/g, '-')}-${i++}`) }).catch(() => undefined)
        if (p.errors?.length) console.log('     page errors:', p.errors.join('; '))
      }
      await ctx.close().catch(() => undefined)
    }
    console.log(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String(e.message || e).split('\n').join('\n     ')}`)
  }
}

let seq = 0
const uniq = (p) => `${p}-${Date.now().toString(36)}-${++seq}`
const phoneBase = 2000 + Math.floor(Math.random() * 7000)
const phone = () => `1650${String(phoneBase).padStart(4, '0')}${String(++seq).padStart(3, '0')}`

async function openConversationByName(page, name) {
  const row = page.locator('[data-conversation]', { hasText: name }).first()
  await row.waitFor({ timeout: 20_000 })
  await row.click()
  await page.locator('[data-conversation-open]').waitFor()
}

async function main() {
  await wam.start()
  browser = await launch()
  const ownerToken = (await wam.login()).access_token
  // The demo's templates come from the simulated Meta once listed.
  await until(async () => {
    const t = await wam.api('GET', '/api/templates?status=APPROVED', null, ownerToken)
    if (t.data.some((x) => x.name === 'order_update')) return true
    await wam.api('POST', '/api/templates/sync', null, ownerToken).catch(() => undefined)
  }, 'the demo templates to be listed', 60_000, 500)

  await test('log in as the owner, see the inbox; log out', async () => {
    const page = await newPage(browser, wam.base)
    await page.goto('/inbox')
    await page.waitForURL(/\/login/)
    await page.getByLabel('Email').fill(DEMO.owner)
    await page.getByLabel('Password').fill('wrong password')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('alert').filter({ hasText: 'do not match' }).waitFor()
    await login(page, DEMO.owner)
    await page.reload()
    await page.getByRole('heading', { name: 'Inbox' }).waitFor() // the refresh token signs the reload in
    await page.getByLabel('Account').click()
    await page.getByRole('menuitem', { name: 'Log out' }).click()
    await page.waitForURL(/\/login/)
    await page.reload()
    await page.waitForURL(/\/login/)
    await close(page)
  })

  await test('sign up a new workspace; accept an invitation', async () => {
    const page = await newPage(browser, wam.base)
    await page.goto('/signup')
    const email = `${uniq('owner')}@example.com`
    await page.getByLabel('Business name').fill('Acme Bikes')
    await page.getByLabel('Your name').fill('Ann Owner')
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill('a long passphrase')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('heading', { name: 'WhatsApp numbers' }).waitFor()
    // Invite a teammate by link, from the users page.
    await page.getByRole('link', { name: 'Users and roles' }).click()
    await page.getByRole('button', { name: 'Invite' }).click()
    await page.getByLabel('Name').fill('Bob Agent')
    const bob = `${uniq('bob')}@example.com`
    await page.getByLabel('Email').fill(bob)
    await page.getByRole('dialog').getByRole('button', { name: 'Invite' }).click()
    const link = await page.getByLabel('Invitation link', { exact: true }).inputValue()
    if (!link.includes('/invite?token=')) throw new Error(`no invitation link: ${link}`)
    const other = await newPage(browser, wam.base)
    await other.goto(link)
    await other.getByLabel('Password', { exact: true }).fill('bobs long passphrase')
    await other.getByLabel('Password again').fill('bobs long passphrase')
    await other.getByRole('button', { name: 'Accept invitation' }).click()
    await other.getByRole('heading', { name: 'Inbox' }).waitFor()
    await other.getByLabel('Account').click()
    await other.getByText(`${bob} · agent`).waitFor()
    await close(other)
    await close(page)
  })

  await test("a simulated customer's message appears live without reload", async () => {
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    const name = uniq('Live Customer')
    const text = uniq('hello from the customer')
    await wam.customerWrites(phone(), name, text)
    const row = page.locator('[data-conversation]', { hasText: name })
    await row.waitFor({ timeout: 15_000 })
    await row.locator('[data-unread]').waitFor()
    await until(async () => /^\(\d+\) /.test(await page.title()), 'the unread total in the tab title')
    await row.click()
    await page.locator('[data-message]', { hasText: text }).waitFor()
    // Opened: the unread badge goes, by the conversation's live update.
    await until(async () => (await row.locator('[data-unread]').count()) === 0, 'the unread badge to clear')
    const more = uniq('and one more')
    await wam.customerWrites(await convWaId(page), name, more)
    await page.locator('[data-message]', { hasText: more }).waitFor()
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
    await close(page)
  })

  async function convWaId(page) {
    const id = await page.locator('[data-conversation-open]').getAttribute('data-conversation-open')
    const c = await wam.api('GET', `/api/conversations/${id}`, null, ownerToken)
    return c.contact.wa_id
  }

  await test('reply and watch the ticks reach read', async () => {
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    const name = uniq('Ticks Customer')
    await wam.customerWrites(phone(), name, 'Is my order on its way?')
    await openConversationByName(page, name)
    const text = uniq('Yes, it left the warehouse this morning')
    await page.getByLabel('Message', { exact: true }).fill(text)
    await page.getByLabel('Message', { exact: true }).press('Enter')
    const bubble = page.locator('[data-message][data-direction="outbound"]', { hasText: text })
    await bubble.waitFor()
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: text }).waitFor({ timeout: 30_000 })
    if ((await bubble.count()) !== 1) throw new Error(`the reply shows ${await bubble.count()} times`)
    await close(page)
  })

  await test('a send whose answers are lost on a weak connection goes out once (one Idempotency-Key)', async () => {
    const name = uniq('Weak Link Customer')
    await wam.customerWrites(phone(), name, 'Hi, are you there?')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    const keys = []
    await page.route('**/api/messages', async (route) => {
      const req = route.request()
      if (req.method() !== 'POST') return route.continue()
      keys.push(req.headers()['idempotency-key'])
      if (keys.length <= 2) {
        await route.fetch() // the server stores it…
        return route.abort('connectionreset') // …and the answer is lost
      }
      return route.continue()
    })
    const text = uniq('sent over a weak link')
    await page.getByLabel('Message', { exact: true }).fill(text)
    await page.getByLabel('Message', { exact: true }).press('Enter')
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: text }).waitFor({ timeout: 30_000 })
    if (keys.length < 3 || new Set(keys).size !== 1) throw new Error(`attempts with keys ${JSON.stringify(keys)}`)
    const id = await page.locator('[data-conversation-open]').getAttribute('data-conversation-open')
    const ms = await wam.api('GET', `/api/conversations/${id}/messages`, null, ownerToken)
    const copies = ms.data.filter((m) => m.direction === 'outbound' && m.preview === text).length
    if (copies !== 1) throw new Error(`${copies} messages sent for one send`)
    if ((await page.locator('[data-message]', { hasText: text }).count()) !== 1) throw new Error('the message shows twice')
    await close(page)
  })

  await test('while the tab is hidden a new message notifies, chimes and counts in the title', async () => {
    const page = await openAs(browser, wam, DEMO.owner)
    // The browser's side, observed: a tab we can hide, notifications
    // allowed and recorded, the chime's oscillators counted.
    await page.addInitScript(() => {
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => window.__hidden === true })
      window.__notes = []
      window.Notification = class {
        static permission = 'granted'
        static requestPermission = async () => 'granted'
        constructor(title, opts) {
          this.title = title
          this.body = opts?.body
          this.tag = opts?.tag
          window.__notes.push(this)
        }
        close() {}
      }
      window.__chimes = 0
      const make = AudioContext.prototype.createOscillator
      AudioContext.prototype.createOscillator = function () {
        window.__chimes++
        return make.call(this)
      }
    })
    await page.reload()
    await live(page)
    await page.evaluate(() => {
      window.__hidden = true
      document.dispatchEvent(new Event('visibilitychange'))
    })
    const name = uniq('Night Customer')
    const text = uniq('Are you open tomorrow?')
    await wam.customerWrites(phone(), name, text)
    await until(async () => (await page.evaluate(() => window.__notes.map((n) => n.body))).some((b) => b?.includes(text)), 'a notification of the message')
    if ((await page.evaluate(() => window.__chimes)) < 1) throw new Error('no chime for a new message in a hidden tab')
    await until(async () => /^\(\d+\) /.test(await page.title()), 'the unread count in the tab title')
    // Clicking the notification opens its conversation.
    await page.evaluate(() => window.__notes.at(-1).onclick())
    await page.locator('[data-conversation-open]').waitFor()
    await page.getByRole('heading', { name }).waitFor()
    await close(page)
  })

  await test('a send the automatic retries gave up on goes out once when the agent retries it', async () => {
    const name = uniq('Offline Customer')
    await wam.customerWrites(phone(), name, 'Anyone?')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    const id = await page.locator('[data-conversation-open]').getAttribute('data-conversation-open')
    const copies = async (text) => (await wam.api('GET', `/api/conversations/${id}/messages`, null, ownerToken)).data.filter((m) => m.direction === 'outbound' && m.preview === text).length
    // reach: how many attempts get to wam before the link goes down for good.
    const down = (reach, keys) => async (route) => {
      const req = route.request()
      if (req.method() !== 'POST') return route.continue()
      keys.push(req.headers()['idempotency-key'])
      if (keys.length <= reach) await route.fetch() // wam has it; the answer is lost
      return route.abort('internetdisconnected')
    }
    // Nothing reaches wam: after the automatic attempts the row says so
    // and offers a retry, which sends it, once, with the same key.
    let keys = []
    let handler = down(0, keys)
    await page.route('**/api/messages', handler)
    let text = uniq('typed while the link was down')
    await page.getByLabel('Message', { exact: true }).fill(text)
    await page.getByLabel('Message', { exact: true }).press('Enter')
    const row = page.locator('[data-message][data-direction="outbound"]', { hasText: text })
    await row.getByLabel('Not sent').waitFor({ timeout: 60_000 })
    if ((await copies(text)) !== 0) throw new Error('sent although no attempt reached wam')
    await page.unroute('**/api/messages', handler)
    const retried = page.waitForRequest((r) => r.url().endsWith('/api/messages') && r.method() === 'POST')
    await row.getByRole('button', { name: 'Retry' }).click()
    if ((await retried).headers()['idempotency-key'] !== keys[0]) throw new Error('the retry has another Idempotency-Key')
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: text }).waitFor({ timeout: 30_000 })
    if (keys.length !== 8 || new Set(keys).size !== 1) throw new Error(`automatic attempts with keys ${JSON.stringify(keys)}`)
    if ((await copies(text)) !== 1) throw new Error('not sent exactly once after the retry')
    // The first attempt reaches wam and every answer is lost: the message
    // comes back live, so when the attempts give up nothing is in error.
    keys = []
    handler = down(1, keys)
    await page.route('**/api/messages', handler)
    text = uniq('sent but never answered')
    await page.getByLabel('Message', { exact: true }).fill(text)
    await page.getByLabel('Message', { exact: true }).press('Enter')
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: text }).waitFor({ timeout: 30_000 })
    await until(async () => keys.length === 8, 'the automatic attempts to give up', 60_000, 200)
    await page.unroute('**/api/messages', handler)
    // The last attempt's failure is handled right after it: give an error
    // the time to show, as the code before this fix showed one.
    const shown = await page.getByText('Failed to fetch').waitFor({ timeout: 3000 }).then(() => true, () => false)
    if (shown) throw new Error('an error shows for a message that went out')
    if (await page.getByLabel('Not sent').count()) throw new Error('a delivered message shows as not sent')
    if ((await copies(text)) !== 1 || (await page.locator('[data-message]', { hasText: text }).count()) !== 1) throw new Error('the message is not there exactly once')
    await close(page)
  })

  await test('an attachment uploads and shows; interactive buttons go out and the tap comes back', async () => {
    const name = uniq('Media Customer')
    const wa = phone()
    await wam.customerWrites(wa, name, 'Can you send me a picture?')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    // A real PNG (wam sniffs what it stores): 64×64, one colour.
    const png = await page.evaluate(async () => {
      const c = document.createElement('canvas')
      c.width = c.height = 64
      const g = c.getContext('2d')
      g.fillStyle = '#0f766e'
      g.fillRect(0, 0, 64, 64)
      const b = await new Promise((r) => c.toBlob(r, 'image/png'))
      return [...new Uint8Array(await b.arrayBuffer())]
    })
    await page.getByLabel('Message', { exact: true }).fill('Here it is')
    await page.getByLabel('File to send').setInputFiles({ name: 'swatch.png', mimeType: 'image/png', buffer: Buffer.from(png) })
    const bubble = page.locator('[data-message][data-direction="outbound"]', { hasText: 'Here it is' })
    await bubble.locator('img').waitFor()
    await until(async () => (await bubble.locator('img').evaluate((i) => i.complete && i.naturalWidth)) === 64, 'the sent image to load from /api/media')
    await page.getByLabel('Interactive message').click()
    await page.getByLabel('Body').fill('Which colour do you prefer?')
    await page.getByRole('textbox', { name: 'Button 1' }).fill('Teal')
    await page.getByRole('textbox', { name: 'Button 2' }).fill('Purple')
    await page.getByRole('dialog').getByRole('button', { name: 'Send' }).click()
    const inter = page.locator('[data-message][data-direction="outbound"]', { hasText: 'Which colour do you prefer?' })
    await inter.getByText('Purple').waitFor()
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: 'Which colour' }).waitFor({ timeout: 30_000 })
    await wam.customerWrites(wa, name, '', 'button_reply')
    await page.locator('[data-message][data-direction="inbound"]', { hasText: /Teal|Purple/ }).waitFor()
    await close(page)
  })

  await test('voice notes play; locations, contact cards, list replies and reactions show', async () => {
    const name = uniq('Rich Customer')
    const wa = phone()
    await wam.customerWrites(wa, name, 'Hello there')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    const inbound = (hasText) => page.locator('[data-message][data-direction="inbound"]', hasText ? { hasText } : {})
    // A voice note: stored, served and playable (the browser decodes it).
    await wam.customerWrites(wa, name, '', 'voice')
    const voice = page.getByLabel('Voice note')
    await voice.waitFor({ timeout: 30_000 })
    const duration = await voice.evaluate((a) => new Promise((done) => {
      if (a.readyState >= 1) return done(a.duration)
      a.addEventListener('loadedmetadata', () => done(a.duration))
      a.addEventListener('error', () => done(-1))
      a.load()
    }))
    if (!(duration > 0)) throw new Error(`the voice note does not play (duration ${duration})`)
    // A shared place, as a card linking to the map.
    await wam.customerWrites(wa, name, '', 'location')
    await page.locator('[data-message][data-direction="inbound"] a[href*="openstreetmap.org"]').waitFor()
    // A contact card, as Meta sends it.
    const card = uniq('Card Person')
    await wam.webhook({
      object: 'whatsapp_business_account',
      entry: [{ id: DEMO.waba, changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: DEMO.display, phone_number_id: DEMO.number },
        contacts: [{ profile: { name }, wa_id: wa }],
        messages: [{ from: wa, id: `wamid.${uniq('card')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'contacts',
          contacts: [{ name: { formatted_name: card, first_name: 'Card' }, phones: [{ phone: '+1 650 555 0199', type: 'CELL', wa_id: '16505550199' }] }] }],
      } }] }],
    })
    await inbound(card).getByText('+1 650 555 0199').waitFor()
    // A list goes out; the customer picks a row; the pick shows.
    await page.getByLabel('Interactive message').click()
    await page.getByRole('tab', { name: 'List' }).click()
    await page.getByLabel('Body').fill('Pick a delivery slot')
    await page.getByLabel('List button').fill('Slots')
    await page.getByRole('textbox', { name: 'Row 1 title' }).fill('Morning')
    await page.getByRole('textbox', { name: 'Row 1 description' }).fill('8 to 12')
    await page.getByRole('button', { name: 'Add a row' }).click()
    await page.getByRole('textbox', { name: 'Row 2 title' }).fill('Evening')
    await page.getByRole('dialog').getByRole('button', { name: 'Send' }).click()
    const list = page.locator('[data-message][data-direction="outbound"]', { hasText: 'Pick a delivery slot' })
    await list.getByText('Slots').waitFor()
    await page.locator('[data-message][data-direction="outbound"][data-status="read"]', { hasText: 'Pick a delivery slot' }).waitFor({ timeout: 30_000 })
    await wam.customerWrites(wa, name, '', 'list_reply')
    await inbound(/Morning|Evening/).waitFor()
    // The customer reacts to the list; the agent reacts to the greeting.
    await wam.customerWrites(wa, name, '', 'reaction')
    await list.locator('[aria-label^="Reactions: "]').waitFor()
    const hello = inbound('Hello there')
    await hello.hover()
    await hello.getByRole('button', { name: 'React' }).click()
    await hello.getByRole('button', { name: 'React 👍' }).click()
    await hello.getByLabel('Reactions: 👍').waitFor()
    await until(async () => {
      const convs = await wam.api('GET', `/api/conversations?q=${encodeURIComponent(name)}`, null, ownerToken)
      const ms = await wam.api('GET', `/api/conversations/${convs.data[0].id}/messages`, null, ownerToken)
      return ms.data.some((m) => m.type === 'reaction' && m.direction === 'outbound' && JSON.stringify(m.content).includes('👍') && ['sent', 'delivered', 'read'].includes(m.status))
    }, 'the reaction sent to Meta')
    await page.screenshot({ path: shotPath('chat-rich-messages-desktop-light') })
    await close(page)
  })

  await test('the composer refuses free text when the window is closed; a template goes out with its parameters', async () => {
    // A conversation the customer never wrote in: a send of a template starts it.
    const to = phone()
    const first = await wam.api('POST', '/api/messages', { to, phone_number_id: DEMO.number, type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } }, ownerToken, { 'Idempotency-Key': uniq('k') })
    const page = await openAs(browser, wam, DEMO.owner)
    await page.goto(`/inbox/${first.conversation_id}`)
    await page.getByTestId('window-closed').waitFor()
    if (await page.getByLabel('Message', { exact: true }).count()) throw new Error('a free-text box is offered with the window closed')
    await page.getByRole('button', { name: 'Choose a template' }).click()
    await page.locator('[data-template-option="order_update"]').click()
    await page.getByLabel('Header {{1}}').fill('#A-1042')
    await page.getByLabel('Body {{1}}').fill('Maria')
    await page.getByLabel('Body {{2}}').fill('A-1042')
    await page.getByLabel('Body {{3}}').fill('tomorrow')
    await until(async () => (await page.getByTestId('template-preview').innerText()).includes('Hi Maria, your order A-1042 is on its way and arrives tomorrow.'), 'the live preview')
    await page.screenshot({ path: shotPath('composer-template-form-desktop-light') })
    await page.getByRole('button', { name: 'Send template' }).click()
    const bubble = page.locator('[data-message][data-direction="outbound"]', { hasText: 'Hi Maria, your order A-1042 is on its way' })
    await bubble.waitFor()
    await until(async () => {
      const ms = await wam.api('GET', `/api/conversations/${first.conversation_id}/messages`, null, ownerToken)
      const t = ms.data.find((m) => m.type === 'template' && (m.content?.template?.name ?? m.content?.name) === 'order_update')
      return t && JSON.stringify(t.content).includes('"Maria"') && JSON.stringify(t.content).includes('#A-1042')
    }, 'the template with its parameters in the API')
    // A template whose header is an image: uploaded from the form, sent by
    // the upload's id, and Meta (simulated) takes it.
    const png = await page.evaluate(async () => {
      const c = document.createElement('canvas')
      c.width = c.height = 32
      const g = c.getContext('2d')
      g.fillStyle = '#b45309'
      g.fillRect(0, 0, 32, 32)
      const b = await new Promise((r) => c.toBlob(r, 'image/png'))
      return [...new Uint8Array(await b.arrayBuffer())]
    })
    await page.getByRole('button', { name: 'Choose a template' }).click()
    await page.locator('[data-template-option="spring_sale"]').click()
    await page.getByLabel('Upload the header image').setInputFiles({ name: 'sale.png', mimeType: 'image/png', buffer: Buffer.from(png) })
    await page.locator('[data-header-upload]', { hasText: 'sale.png' }).waitFor()
    await page.getByLabel('Body {{1}}').fill('20%')
    await page.getByLabel(/Shop now/).fill('spring')
    await page.getByRole('button', { name: 'Send template' }).click()
    await until(async () => {
      const ms = await wam.api('GET', `/api/conversations/${first.conversation_id}/messages`, null, ownerToken)
      const t = ms.data.find((m) => m.type === 'template' && (m.content?.template?.name ?? m.content?.name) === 'spring_sale')
      if (t?.status === 'failed') throw new Error(`the image-header template failed: ${JSON.stringify(t.error ?? t)}`)
      return t && /"image":\{"id":"[^"]+"/.test(JSON.stringify(t.content)) && ['sent', 'delivered', 'read'].includes(t.status)
    }, 'the image-header template sent by its upload id')
    await close(page)
  })

  await test("two agents see each other's replies and assignments live", async () => {
    const name = uniq('Shared Customer')
    await wam.customerWrites(phone(), name, 'Can someone help me?')
    const owner = await openAs(browser, wam, DEMO.owner)
    const agent = await openAs(browser, wam, DEMO.agent)
    await Promise.all([live(owner), live(agent)])
    await openConversationByName(owner, name)
    await openConversationByName(agent, name)
    // The agent takes it: the owner sees the assignment without reload.
    await agent.getByLabel('Assign').click()
    await agent.getByRole('menuitem', { name: 'Me' }).click()
    await owner.getByText('assigned to Alex (agent)').waitFor()
    const reply = uniq('I am on it')
    // The owner sees the agent typing, by the live connection.
    await agent.getByLabel('Message', { exact: true }).pressSequentially('I am')
    await owner.getByText('Alex (agent) is typing').waitFor()
    await agent.getByLabel('Message', { exact: true }).fill(reply)
    await agent.getByLabel('Message', { exact: true }).press('Enter')
    await owner.locator('[data-message][data-direction="outbound"]', { hasText: reply }).waitFor()
    // The owner gives it back to nobody and replies: the agent sees both.
    await owner.getByLabel('Assign').click()
    await owner.getByRole('menuitem', { name: 'Unassign' }).click()
    await agent.getByText('· unassigned').waitFor()
    const answer = uniq('Owner here, thanks Alex')
    await owner.getByLabel('Message', { exact: true }).fill(answer)
    await owner.getByLabel('Message', { exact: true }).press('Enter')
    await agent.locator('[data-message][data-direction="outbound"]', { hasText: answer }).waitFor()
    for (const p of [owner, agent]) {
      for (const t of [reply, answer]) {
        const n = await p.locator('[data-message]', { hasText: t }).count()
        if (n !== 1) throw new Error(`"${t}" shows ${n} times`)
      }
    }
    // The owner takes it and leaves: the agent still sees who has it, by
    // name, after a reload (not only while the owner is online).
    await owner.getByLabel('Assign').click()
    await owner.getByRole('menuitem', { name: 'Me' }).click()
    await agent.getByText('assigned to Demo Owner').waitFor()
    await close(owner)
    await agent.reload()
    await agent.locator('[data-conversation-open]').waitFor()
    await agent.getByText('assigned to Demo Owner').waitFor()
    await close(agent)
  })

  await test('canned replies with variables, private notes, the command palette and keyboard shortcuts', async () => {
    const shortcut = `thanks${seq + 1}`
    await wam.api('POST', '/api/canned-replies', { shortcut, text: 'Thanks {{contact.name}}, {{agent.name}} here.' }, ownerToken)
    const name = uniq('Palette Customer')
    await wam.customerWrites(phone(), name, 'Hello there')
    await wam.customerWrites(phone(), uniq('Other Customer'), 'Me too')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    const box = page.getByLabel('Message', { exact: true })
    await box.fill(`/${shortcut.slice(0, 5)}`)
    await page.getByRole('list', { name: 'Canned replies' }).waitFor()
    await box.press('Enter')
    await until(async () => (await box.inputValue()) === `Thanks ${name}, Demo Owner here.`, 'the canned reply with its variables filled')
    await box.fill('')
    await box.press('Escape')
    await page.keyboard.press('n')
    const note = page.getByLabel('Private note', { exact: true })
    await note.fill('Called them back, all good.')
    await note.press('Enter')
    await page.locator('[data-note]', { hasText: 'Called them back, all good.' }).waitFor()
    await note.press('Escape')
    await page.keyboard.press('?')
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor()
    await page.keyboard.press('Escape')
    await page.keyboard.press('Control+k')
    await page.getByRole('combobox', { name: 'Command' }).fill('close conv')
    await page.keyboard.press('Enter')
    await page.getByText('This conversation is closed').waitFor()
    await until(async () => (await wam.api('GET', `/api/conversations/${await page.locator('[data-conversation-open]').getAttribute('data-conversation-open')}`, null, ownerToken)).status === 'closed', 'the conversation closed in the API')
    const before = page.url()
    await page.keyboard.press('j')
    await until(() => page.url() !== before, 'J to open the next conversation')
    await close(page)
  })

  await test('tag, filter by tag, search, snooze and find it under Snoozed', async () => {
    const name = uniq('Filter Customer')
    await wam.customerWrites(phone(), name, 'Please hold my order')
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    const tag = `urgent${seq}`
    await page.getByLabel('Tags').click()
    await page.getByLabel('New tag').fill(tag)
    await page.getByLabel('New tag').press('Enter')
    await page.keyboard.press('Escape')
    const id = await page.locator('[data-conversation-open]').getAttribute('data-conversation-open')
    await until(async () => (await wam.api('GET', `/api/conversations/${id}`, null, ownerToken)).tags.includes(tag), 'the tag in the API')
    await page.getByLabel('Filter by number or tag').click()
    await page.getByRole('menuitem', { name: `#${tag}` }).click()
    await until(async () => {
      const rows = await page.locator('[data-conversation]').allInnerTexts()
      return rows.length === 1 && rows[0].includes(name)
    }, 'only the tagged conversation in the list')
    await page.getByLabel('Filter by number or tag').click()
    await page.getByRole('menuitem', { name: 'Any tag' }).click()
    await page.getByLabel('Search conversations').fill(name.slice(0, -3))
    await until(async () => {
      const rows = await page.locator('[data-conversation]').allInnerTexts()
      return rows.length === 1 && rows[0].includes(name)
    }, 'the search to find it alone')
    await page.getByLabel('Snooze').click()
    await page.getByRole('menuitem', { name: 'For 1 hour' }).click()
    await page.getByText('Snoozed until').waitFor()
    await until(async () => (await page.locator('[data-conversation]', { hasText: name }).count()) === 0, 'the snoozed conversation to leave the open list')
    await page.getByRole('tab', { name: 'Snoozed' }).click()
    await page.locator('[data-conversation]', { hasText: name }).waitFor()
    await close(page)
  })

  await test('the server restarts and the page reconnects without losing or doubling a message', async () => {
    const name = uniq('Restart Customer')
    const wa = phone()
    const before = uniq('before the restart')
    await wam.customerWrites(wa, name, before)
    const page = await openAs(browser, wam, DEMO.owner)
    await live(page)
    await openConversationByName(page, name)
    await page.locator('[data-message]', { hasText: before }).waitFor()
    await wam.stop()
    await page.locator('[data-live="offline"]').waitFor({ state: 'attached' })
    await wam.start()
    // Written while the page is still away (its backoff runs): resume brings it.
    const during = uniq('while the page reconnects')
    await wam.customerWrites(wa, name, during)
    await live(page)
    const after = uniq('after the reconnect')
    await wam.customerWrites(wa, name, after)
    for (const t of [before, during, after]) {
      await page.locator('[data-message]', { hasText: t }).waitFor()
    }
    for (const t of [before, during, after]) {
      const n = await page.locator('[data-message]', { hasText: t }).count()
      if (n !== 1) throw new Error(`"${t}" shows ${n} times`)
    }
    await close(page)
  })

  await test('a 10,000-message conversation scrolls smoothly (frame times)', async () => {
    const wa = '15559990000'
    const name = 'Long Talker'
    const N = 10_000
    const start = Date.now() - 12 * 86400_000
    for (let b = 0; b < N / 250; b++) {
      const msgs = []
      for (let i = b * 250; i < (b + 1) * 250; i++) {
        const words = ['Hello', 'any news on my order?', 'Thanks!', 'Could you check the tracking number for me please, it has not moved since yesterday.', 'ok', 'Great, see you then.']
        msgs.push({ id: `wamid.long.${i}`, at: start + i * 100_000, text: `#${i} ${words[i % words.length]}` })
      }
      await wam.webhook(inboundWebhook(wa, name, msgs))
    }
    const conv = await until(async () => {
      const l = await wam.api('GET', `/api/conversations?q=${wa}`, null, ownerToken)
      const c = l.data[0]
      return c && c.last_message_preview.startsWith(`#${N - 1} `) && c
    }, 'the 10,000 messages to be projected', 180_000, 500)
    const page = await openAs(browser, wam, DEMO.owner)
    await page.goto(`/inbox/${conv.id}`)
    await page.locator('[data-message]', { hasText: `#${N - 1} ` }).waitFor()
    // Scroll up into history until the first message is loaded, then
    // down and up through all of it, recording every frame's duration.
    const t0 = Date.now()
    const figs = await page.evaluate(async (n) => {
      const el = document.querySelector('[data-testid="timeline"]')
      const frames = []
      let last = performance.now()
      let running = true
      const tick = (t) => {
        frames.push(t - last)
        last = t
        if (running) requestAnimationFrame(tick)
      }
      requestAnimationFrame(tick)
      const wait = () => new Promise((r) => requestAnimationFrame(() => r()))
      const deadline = performance.now() + 240_000
      while (!document.querySelector('[data-message] p')?.textContent?.startsWith('#0 ') && performance.now() < deadline) {
        el.scrollTop = Math.max(0, el.scrollTop - 1500)
        await wait()
        if (el.scrollTop === 0) await new Promise((r) => setTimeout(r, 30))
        const first = [...document.querySelectorAll('[data-message] p')].some((p) => p.textContent.startsWith('#0 '))
        if (first) break
      }
      const loadFrames = frames.splice(0)
      const loaded = [...document.querySelectorAll('[data-message] p')].some((p) => p.textContent.startsWith('#0 '))
      // A smooth scroll through everything, 60 px a frame, both ways is long: sample 600 frames each way at 120 px.
      for (let i = 0; i < 600; i++) {
        el.scrollTop += 120
        await wait()
      }
      el.scrollTop = el.scrollHeight
      await wait()
      for (let i = 0; i < 600; i++) {
        el.scrollTop -= 120
        await wait()
      }
      running = false
      const scroll = frames.slice(2)
      const q = (a, p) => {
        const s = [...a].sort((x, y) => x - y)
        return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1)
      }
      const domRows = document.querySelectorAll('[data-message]').length
      return { loaded, domRows, scrollFrames: scroll.length, p50: q(scroll, 0.5), p95: q(scroll, 0.95), p99: q(scroll, 0.99), max: q(scroll, 1), over50ms: scroll.filter((f) => f > 50).length, loadFrames: loadFrames.length, loadP95: q(loadFrames, 0.95) }
    }, N)
    figs.history_load_ms = Date.now() - t0
    figures.scroll_10k = figs
    console.log('     frame times (ms):', JSON.stringify(figs))
    if (!figs.loaded) throw new Error('the first of the 10,000 messages was never reached')
    if (figs.domRows > 400) throw new Error(`${figs.domRows} message rows in the DOM: the list is not virtualized`)
    // Scrolled up in history, a new message does not pull the view down: a pill counts it.
    const fromBottom = () => page.evaluate(() => {
      const el = document.querySelector('[data-testid="timeline"]')
      return el.scrollHeight - el.scrollTop - el.clientHeight
    })
    const before = await fromBottom()
    await wam.customerWrites(wa, name, 'Are you still there?')
    await page.getByTestId('new-messages').filter({ hasText: '1 new message' }).waitFor()
    if ((await fromBottom()) < before - 1000) throw new Error('the view moved down on a new message while reading history')
    await page.getByTestId('new-messages').click()
    await until(async () => page.evaluate(() => {
      const el = document.querySelector('[data-testid="timeline"]')
      const m = [...document.querySelectorAll('[data-message]')].find((e) => e.textContent.includes('Are you still there?'))
      if (!m) return false
      const r = m.getBoundingClientRect(), v = el.getBoundingClientRect()
      return r.top >= v.top && r.bottom <= v.bottom + 1
    }), 'the new message in view after the pill')
    await close(page)
  })

  await test("settings: a teammate's role changed and password reset; a template created with a preview, approved, synced", async () => {
    const email = `${uniq('sam')}@example.com`
    await wam.api('POST', '/api/users', { email, name: 'Sam Settings', role: 'agent' }, ownerToken)
    const page = await openAs(browser, wam, DEMO.owner)
    await page.goto('/settings/users')
    // The role: agent → admin, as the API then says.
    await page.getByLabel('Role of Sam Settings').selectOption('admin')
    await until(async () => (await wam.api('GET', '/api/users', null, ownerToken)).data.find((u) => u.email === email)?.role === 'admin', 'the new role in the API')
    // A password reset shows a link, once, with which Sam sets a new
    // password and signs in.
    const row = page.locator('li').filter({ hasText: email })
    await row.getByRole('button', { name: 'Reset password' }).click()
    const link = new URL(await page.getByLabel('Invitation link').inputValue())
    const post = (path, body) => fetch(`${wam.base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '10.254.0.9' }, body: JSON.stringify(body) })
    let r = await post('/api/auth/accept-invite', { token: link.searchParams.get('token'), password: 'a new password for Sam' })
    if (r.status !== 200) throw new Error(`accept the reset link: ${r.status} ${await r.text()}`)
    r = await post('/api/auth/login', { email, password: 'a new password for Sam' })
    if (r.status !== 200) throw new Error(`sign-in with the new password: ${r.status} ${await r.text()}`)
    // A template: the preview follows the form; Meta (simulated) reviews
    // it, and a sync shows it approved.
    await page.goto('/settings/templates')
    await page.getByRole('button', { name: 'New template' }).click()
    const name = uniq('restock').replace(/-/g, '_').toLowerCase()
    await page.getByLabel('Name').fill(name)
    await page.getByLabel('Body', { exact: true }).fill('Good news {{1}}: your item is back in stock.')
    await page.getByLabel('Example for {{1}}').fill('Maria')
    await page.getByRole('dialog').getByText('Good news Maria: your item is back in stock.').waitFor()
    await page.screenshot({ path: shotPath('settings-template-create-desktop-light') })
    await page.getByRole('button', { name: 'Submit for review' }).click()
    const card = page.locator('div').filter({ hasText: name }).filter({ has: page.getByText(/^(pending|approved)$/) }).last()
    await card.waitFor()
    await until(async () => {
      await page.getByRole('button', { name: 'Sync from Meta' }).click()
      await page.getByRole('status').filter({ hasText: 'Synced' }).waitFor().catch(() => undefined)
      return (await card.getByText('approved', { exact: true }).count()) > 0
    }, 'the template approved after a sync', 60_000, 1000)
    await close(page)
  })

  await test('settings: an API key shown once, number validation, branding applied app-wide', async () => {
    const tenant = await wam.api('GET', '/api/tenant', null, ownerToken)
    const page = await openAs(browser, wam, DEMO.owner)
    await page.goto('/settings/api-keys')
    await page.getByLabel('Name').fill('CI export')
    await page.getByRole('button', { name: 'Create key' }).click()
    const secret = await page.getByTestId('api-key-secret').inputValue()
    if (!secret.startsWith('wam_')) throw new Error(`secret ${secret}`)
    const r = await fetch(`${wam.base}/api/conversations?limit=1`, { headers: { 'X-API-Key': secret } })
    if (!r.ok) throw new Error(`the new key does not work: ${r.status}`)
    await page.reload()
    await page.getByText('CI export').waitFor()
    if (await page.getByTestId('api-key-secret').count()) throw new Error('the secret is shown again')
    await page.goto('/settings/numbers')
    await page.getByRole('button', { name: 'Add a number' }).click()
    await page.getByLabel('Phone number ID').fill('12ab')
    await page.getByLabel('Access token').fill('short')
    await page.getByRole('button', { name: 'Connect' }).click()
    await page.getByText('Digits only: the “Phone number ID”').waitFor()
    await page.getByText('20 characters or more').waitFor()
    await page.keyboard.press('Escape')
    await page.goto('/settings/branding')
    await page.getByLabel('App name').fill('Acme Support')
    await page.getByLabel('Primary colour').fill('#7c3aed')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByText('Saved: applied for everyone.').waitFor()
    await until(async () => (await page.title()).includes('Acme Support'), 'the app name in the title')
    const primary = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--primary').trim())
    if (primary !== '#7c3aed') throw new Error(`--primary is ${primary}`)
    // Another person's page takes the tenant's branding too.
    const agent = await openAs(browser, wam, DEMO.agent)
    await until(async () => (await agent.title()).includes('Acme Support'), "the agent's page branded")
    await close(agent)
    await wam.api('PUT', '/api/tenant', { name: tenant.name, branding: tenant.branding }, ownerToken)
    await close(page)
  })

  // The operators' console and History (e2e/ops.mjs).
  await opsTests({ test, wam, browser, uniq, ownerToken })

  await test('screenshots: inbox, chat, composer with template form, settings; light and dark; desktop and phone', async () => {
    // A few conversations of every kind of message, for the pictures.
    const people = [
      ['Maria Garcia', 'Hi! Do you ship to Portugal?', 'text'],
      ['Ahmed Khan', '', 'image'],
      ['Yuki Tanaka', '', 'voice'],
      ['Lena Fischer', '', 'location'],
      ['Tom Baker', 'My parcel arrived damaged 😞', 'text'],
    ]
    const was = []
    for (const [n, t, k] of people) {
      const w = phone()
      was.push(w)
      await wam.customerWrites(w, n, t, k)
    }
    const mariaConv = await until(async () => (await wam.api('GET', `/api/conversations?q=${was[0]}`, null, ownerToken)).data[0], 'Maria to be in the inbox')
    const hello = await wam.api('POST', '/api/messages', { conversation_id: mariaConv.id, type: 'text', text: { body: 'Hello Maria! Yes, we ship to Portugal in 2–3 days. Shall I send you the rates?' } }, ownerToken, { 'Idempotency-Key': uniq('k') })
    // She answers once she has read it (Meta's timestamps are in seconds: an answer in the same second would sort before it).
    await until(async () => (await wam.api('GET', `/api/messages/${hello.id}`, null, ownerToken)).status === 'read', 'Maria to read the reply', 30_000, 200)
    await wam.customerWrites(was[0], 'Maria Garcia', 'Yes please, and can I pay on delivery?', 'reply')
    await wam.api('POST', `/api/conversations/${mariaConv.id}/notes`, { body: 'VIP customer: offer free shipping.' }, ownerToken)
    await wam.api('PATCH', `/api/conversations/${mariaConv.id}`, { tags: ['vip', 'shipping'] }, ownerToken)
    for (const dark of [false, true]) {
      for (const [device, width, height] of [
        ['desktop', 1440, 900],
        ['phone', 390, 844],
      ]) {
        const mode = dark ? 'dark' : 'light'
        const page = await openAs(browser, wam, DEMO.owner, { width, height, dark })
        await live(page)
        await page.locator('[data-conversation]', { hasText: 'Tom Baker' }).waitFor()
        await page.screenshot({ path: shotPath(`inbox-${device}-${mode}`) })
        await page.goto(`/inbox/${mariaConv.id}`)
        await page.locator('[data-message]', { hasText: 'pay on delivery' }).waitFor()
        await page.locator('[data-note]').waitFor()
        await page.screenshot({ path: shotPath(`chat-${device}-${mode}`) })
        await page.getByLabel('Send a template').click()
        await page.locator('[data-template-option="order_update"]').click()
        await page.getByLabel('Body {{2}}').fill('A-1042')
        await page.screenshot({ path: shotPath(`composer-template-${device}-${mode}`) })
        await page.keyboard.press('Escape')
        const ahmed = await until(async () => (await wam.api('GET', `/api/conversations?q=${was[1]}`, null, ownerToken)).data[0], 'Ahmed')
        await page.goto(`/inbox/${ahmed.id}`)
        await page.locator('[data-message] img').waitFor()
        await page.screenshot({ path: shotPath(`chat-media-${device}-${mode}`) })
        await page.goto('/settings/numbers')
        await page.getByTestId('webhook-url').waitFor()
        await page.screenshot({ path: shotPath(`settings-numbers-${device}-${mode}`) })
        await page.goto('/settings/templates')
        await page.getByText('order_update').first().waitFor()
        await page.screenshot({ path: shotPath(`settings-templates-${device}-${mode}`) })
        if (page.errors.length) throw new Error(`page errors: ${page.errors.join('; ')}`)
        await close(page)
      }
    }
  })
}

try {
  await main()
} catch (e) {
  results.push({ name: 'harness', ok: false, error: e.stack || String(e) })
  console.log('FAIL harness:', e.stack || e)
} finally {
  await browser?.close().catch(() => undefined)
  await wam.stop().catch(() => undefined)
  const failed = results.filter((r) => !r.ok)
  mkdirSync(ARTIFACTS, { recursive: true }) // a filtered run may have taken no screenshot
  writeFileSync(join(ARTIFACTS, 'e2e-results.json'), JSON.stringify({ results, figures }, null, 2))
  if (failed.length) {
    console.log(`\n${failed.length} of ${results.length} e2e tests failed; wam's log: ${wam.dir}`)
    for (const f of failed) console.log(`--- ${f.name}\n${f.error}`)
    process.exitCode = 1
  } else {
    console.log(`\nall ${results.length} e2e tests passed; screenshots in ${ARTIFACTS}`)
    wam.cleanup()
  }
}
