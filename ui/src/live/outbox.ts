// Sending with an Idempotency-Key: every attempt of one send carries the
// same key, so when an answer is lost on a weak connection the retry gets
// the original message back instead of sending it twice.
import { ApiError } from '../api/client'
import type { Message, SendMessageRequest } from '../api/types'

export interface SendDeps {
  post: (req: SendMessageRequest, key: string) => Promise<Message>
  sleep: (ms: number) => Promise<void>
  onRetry?: (attempt: number, err: unknown) => void
}

/** retryable: the network failed or the server could not answer now. */
export function retryable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429 || err.status === 408
  return true // fetch's TypeError: the request may or may not have arrived
}

export async function sendIdempotent(req: SendMessageRequest, key: string, deps: SendDeps, attempts = 8): Promise<Message> {
  let last: unknown
  for (let i = 1; i <= attempts; i++) {
    try {
      return await deps.post(req, key)
    } catch (err) {
      last = err
      if (!retryable(err) || i === attempts) break
      deps.onRetry?.(i, err)
      await deps.sleep(Math.min(8000, 400 * 2 ** (i - 1)))
    }
  }
  throw last
}
