import { PackageX, RotateCcw, ShieldAlert, Webhook } from 'lucide-react'
import { api } from '@/api/client'
import type { User } from '@/api/types'
import { ParkedList } from '@/components/history/Parked'
import { ReplayJobs } from '@/components/history/Replays'
import type { Scope } from '@/components/history/scope'
import { TabNav, type Tab } from '@/components/history/TabNav'
import { WebhookList } from '@/components/history/WebhookList'
import { Heading } from '@/components/ui/section'
import { Link } from '@/lib/router'

// A tenant's own history, for its owners and admins: the tenant's
// endpoints, the same components as the operators' console.
const scope: Scope = { client: api, operator: false, webhooks: '/api/webhooks', replays: '/api/replays', parked: '/api/parked', page: '/history' }

const TABS: Tab[] = [
  { id: 'webhooks', label: 'Webhooks', icon: Webhook },
  { id: 'replays', label: 'Replays', icon: RotateCcw },
  { id: 'parked', label: 'Parked events', icon: PackageX },
]

const INTRO: Record<string, string> = {
  webhooks: 'Every webhook Meta sent for your numbers, byte for byte as it came, and what wam made of it.',
  replays: 'Apply stored webhooks again (after a fix wam shipped), or adopt webhooks that came before a number was connected. To replay what a filtered list shows, use “Replay these…” under Webhooks.',
  parked: 'Events wam could not apply. They stay stored; your wam operator retries them.',
}

export default function History({ user, tab }: { user: User; tab: string }) {
  if (user.role === 'agent') {
    return (
      <div className="grid h-full place-items-center p-8">
        <div role="alert" className="max-w-sm text-center">
          <ShieldAlert className="mx-auto size-10 text-muted-foreground" aria-hidden />
          <h1 className="mt-3 text-lg font-semibold">History is for owners and admins</h1>
          <p className="mt-1 text-sm text-muted-foreground">Your role ({user.role}) works the inbox. Ask an owner or admin of this workspace if you need a webhook looked at.</p>
          <Link to="/inbox" className="mt-4 inline-block text-sm font-medium text-primary underline-offset-4 hover:underline">
            Back to the inbox
          </Link>
        </div>
      </div>
    )
  }
  const current = TABS.find((t) => t.id === tab) ?? TABS[0]
  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-6xl p-4 md:p-8">
        <Heading title="History" level={1}>
          {INTRO[current.id]}
        </Heading>
        <TabNav tabs={TABS} current={current.id} base="/history" label="History" className="mb-4 border-b pb-2" />
        {current.id === 'webhooks' ? <WebhookList scope={scope} /> : null}
        {current.id === 'replays' ? <ReplayJobs scope={scope} /> : null}
        {current.id === 'parked' ? <ParkedList scope={scope} /> : null}
      </div>
    </div>
  )
}
