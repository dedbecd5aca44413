import type { WebhookEntry } from '@/api/types'
import { Badge } from '@/components/ui/badge'

export const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

export function ResultBadges({ w }: { w: WebhookEntry }) {
  return (
    <>
      <Badge variant={w.decode_result === 'ok' ? 'success' : w.decode_result === 'partial' ? 'warning' : 'danger'}>{w.decode_result}</Badge>
      {w.parked ? <Badge variant="danger">parked</Badge> : null}
      {w.routing ? <Badge variant="warning">routing {w.routing}</Badge> : null}
      {w.adopted_by ? <Badge variant="secondary">adopted as #{w.adopted_by}</Badge> : null}
      {w.adopted_from ? <Badge variant="secondary">copy of #{w.adopted_from}</Badge> : null}
      {w.refused ? <Badge variant="danger">refused</Badge> : null}
    </>
  )
}
