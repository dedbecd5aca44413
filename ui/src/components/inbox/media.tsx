import * as React from 'react'
import { Download, FileText, Loader2, AlertTriangle } from 'lucide-react'
import { authedFetch } from '@/api/client'
import { formatBytes } from '@/lib/utils'

// Media are fetched with the access token and shown from blob: URLs;
// the URLs are kept for the tab's life, a few hundred at most.
const cache = new Map<string, Promise<string>>()

export function mediaURL(id: string): Promise<string> {
  let p = cache.get(id)
  if (!p) {
    p = authedFetch(`/api/media/${id}`).then(async (res) => {
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      return URL.createObjectURL(await res.blob())
    })
    p.catch(() => cache.delete(id))
    cache.set(id, p)
    if (cache.size > 300) {
      const [oldest] = cache.keys()
      cache.get(oldest)?.then((u) => URL.revokeObjectURL(u))
      cache.delete(oldest)
    }
  }
  return p
}

export function useMediaURL(id: string | undefined, enabled = true) {
  const [state, setState] = React.useState<{ url?: string; error?: string }>({})
  React.useEffect(() => {
    if (!id || !enabled) return
    let live = true
    mediaURL(id).then(
      (url) => live && setState({ url }),
      (e: Error) => live && setState({ error: e.message }),
    )
    return () => {
      live = false
    }
  }, [id, enabled])
  return state
}

export interface MediaInfo {
  id?: string
  status?: 'pending' | 'stored' | 'failed'
  mime?: string
  size?: number
  filename?: string
  error?: string
}

export function MediaView({ type, info, caption, voice }: { type: string; info: MediaInfo; caption?: string; voice?: boolean }) {
  const ready = info.status === undefined || info.status === 'stored'
  const { url, error } = useMediaURL(info.id, ready && type !== 'document')
  if (info.status === 'pending') {
    return (
      <div className="flex items-center gap-2 rounded-md bg-black/5 px-3 py-6 text-xs text-muted-foreground dark:bg-white/5">
        <Loader2 className="size-4 animate-spin" /> Downloading {type} from WhatsApp…
      </div>
    )
  }
  if (info.status === 'failed' || error) {
    return (
      <div className="flex items-center gap-2 rounded-md bg-destructive/10 px-3 py-3 text-xs text-destructive">
        <AlertTriangle className="size-4" /> The {type} could not be fetched{info.error ? `: ${info.error}` : error ? ` (${error})` : ''}.
      </div>
    )
  }
  let body: React.ReactNode
  switch (type) {
    case 'image':
    case 'sticker':
      body = url ? (
        <a href={url} target="_blank" rel="noreferrer" className="block">
          <img src={url} alt={caption || type} className={type === 'sticker' ? 'size-32 object-contain' : 'max-h-80 w-72 max-w-full rounded-md object-cover'} loading="lazy" />
        </a>
      ) : (
        <div className="h-48 w-64 max-w-full animate-pulse rounded-md bg-black/10 dark:bg-white/10" />
      )
      break
    case 'video':
      body = url ? <video src={url} controls className="max-h-72 w-full rounded-md" /> : <div className="h-40 w-64 max-w-full animate-pulse rounded-md bg-black/10" />
      break
    case 'audio':
      body = url ? <audio src={url} controls className="w-64 max-w-full" aria-label={voice ? 'Voice note' : 'Audio'} /> : <div className="h-10 w-64 animate-pulse rounded-full bg-black/10" />
      break
    default:
      body = <DocumentLink info={info} />
  }
  return (
    <div className="grid gap-1">
      {body}
      {caption ? <p className="whitespace-pre-wrap break-words">{caption}</p> : null}
    </div>
  )
}

function DocumentLink({ info }: { info: MediaInfo }) {
  const [busy, setBusy] = React.useState(false)
  const download = async () => {
    if (!info.id) return
    setBusy(true)
    try {
      const url = await mediaURL(info.id)
      const a = document.createElement('a')
      a.href = url
      a.download = info.filename || 'document'
      a.click()
    } finally {
      setBusy(false)
    }
  }
  return (
    <button onClick={download} className="flex w-64 max-w-full items-center gap-3 rounded-md bg-black/5 p-2 text-left hover:bg-black/10 dark:bg-white/5 dark:hover:bg-white/10">
      <FileText className="size-8 shrink-0 text-primary" />
      <span className="min-w-0 flex-1">
        <span className="block truncate text-sm font-medium">{info.filename || 'Document'}</span>
        <span className="block text-xs text-muted-foreground">{[info.mime, formatBytes(info.size)].filter(Boolean).join(' · ')}</span>
      </span>
      {busy ? <Loader2 className="size-4 animate-spin" /> : <Download className="size-4" aria-label="Download" />}
    </button>
  )
}
