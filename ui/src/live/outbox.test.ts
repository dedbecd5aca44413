import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import type { Message, SendMessageRequest } from '../api/types'
import { sendIdempotent } from './outbox'

// A server that keeps Idempotency-Keys as wam does, behind a connection
// that loses the first answers.
function flakyServer(lose: number) {
  const byKey = new Map<string, Message>()
  let sent = 0
  let calls = 0
  return {
    post: async (req: SendMessageRequest, key: string): Promise<Message> => {
      calls++
      let m = byKey.get(key)
      if (!m) {
        sent++
        m = { id: 'm' + sent, preview: req.text?.body } as Message
        byKey.set(key, m)
      }
      if (calls <= lose) throw new TypeError('Failed to fetch') // stored, but the answer was lost
      return m
    },
    sent: () => sent,
    calls: () => calls,
  }
}

describe('sendIdempotent', () => {
  it('retries with the same key, so a lost answer never sends twice', async () => {
    const s = flakyServer(3)
    const m = await sendIdempotent({ type: 'text', text: { body: 'hi' } }, 'k1', { post: s.post, sleep: async () => undefined })
    expect(m.id).toBe('m1')
    expect(s.calls()).toBe(4)
    expect(s.sent()).toBe(1)
  })
  it('does not retry what the server refused', async () => {
    let calls = 0
    const refuse = async () => {
      calls++
      throw new ApiError(422, { type: 'window-closed', title: 'window closed', status: 422 }, '')
    }
    await expect(sendIdempotent({ type: 'text' }, 'k', { post: refuse, sleep: async () => undefined })).rejects.toThrow('window closed')
    expect(calls).toBe(1)
  })
  it('gives up after its attempts, with the last error', async () => {
    const s = flakyServer(100)
    await expect(sendIdempotent({ type: 'text' }, 'k', { post: s.post, sleep: async () => undefined }, 3)).rejects.toThrow('Failed to fetch')
    expect(s.sent()).toBe(1)
  })
})
