import * as React from 'react'
import { FileText } from 'lucide-react'
import type { Template } from '@/api/types'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Button } from '@/components/ui/button'
import { Field, Input } from '@/components/ui/input'
import { cn } from '@/lib/utils'
import { fillTemplate } from './Bubble'

type Obj = Record<string, unknown>
const str = (v: unknown) => (typeof v === 'string' ? v : '')

/** The variables of a text: {{1}}, {{2}} or {{name}}, in order, once each. */
export function variables(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)) if (!out.includes(m[1])) out.push(m[1])
  return out
}

export interface TemplateForm {
  header: Record<string, string>
  /** The header's image, video or document: an https link, or a wam media upload (headerMediaId, shown as headerMediaName). */
  headerMedia: string
  headerMediaId?: string
  headerMediaName?: string
  body: Record<string, string>
  buttons: Record<number, string>
}

export function templateParts(t: Template) {
  const comps = (Array.isArray(t.components) ? t.components : []) as Obj[]
  const find = (k: string) => comps.find((c) => str(c.type).toUpperCase() === k)
  const header = find('HEADER')
  const body = find('BODY')
  const footer = find('FOOTER')
  const buttons = ((find('BUTTONS')?.buttons as Obj[]) ?? []).map((b, index) => ({ index, type: str(b.type).toUpperCase(), text: str(b.text), url: str(b.url) }))
  return { header, body, footer, buttons }
}

const param = (key: string, text: string) => (/^\d+$/.test(key) ? { type: 'text' as const, text } : { type: 'text' as const, parameter_name: key, text })

/** components builds the send's components from the form. */
export function buildComponents(t: Template, f: TemplateForm) {
  const { header, body, buttons } = templateParts(t)
  const out: Obj[] = []
  if (header) {
    const format = str(header.format).toUpperCase() || 'TEXT'
    if (format === 'TEXT') {
      const vars = variables(str(header.text))
      if (vars.length) out.push({ type: 'header', parameters: vars.map((k) => param(k, f.header[k] ?? '')) })
    } else if (['IMAGE', 'VIDEO', 'DOCUMENT'].includes(format)) {
      const kind = format.toLowerCase()
      const media = f.headerMediaId ? { id: f.headerMediaId } : { link: f.headerMedia }
      out.push({ type: 'header', parameters: [{ type: kind, [kind]: media }] })
    }
  }
  if (body) {
    const vars = variables(str(body.text))
    if (vars.length) out.push({ type: 'body', parameters: vars.map((k) => param(k, f.body[k] ?? '')) })
  }
  for (const b of buttons) {
    if (b.type === 'URL' && variables(b.url).length) out.push({ type: 'button', sub_type: 'url', index: b.index, parameters: [{ type: 'text', text: f.buttons[b.index] ?? '' }] })
    if (b.type === 'COPY_CODE') out.push({ type: 'button', sub_type: 'copy_code', index: b.index, parameters: [{ type: 'coupon_code', coupon_code: f.buttons[b.index] ?? '' }] })
  }
  return out
}

export function missing(t: Template, f: TemplateForm): string[] {
  const { header, body, buttons } = templateParts(t)
  const out: string[] = []
  const format = str(header?.format).toUpperCase() || 'TEXT'
  if (header && format === 'TEXT') for (const k of variables(str(header.text))) if (!f.header[k]?.trim()) out.push(`header {{${k}}}`)
  if (header && ['IMAGE', 'VIDEO', 'DOCUMENT'].includes(format) && !f.headerMediaId && !/^https?:\/\//.test(f.headerMedia)) out.push(`header ${format.toLowerCase()}`)
  if (body) for (const k of variables(str(body.text))) if (!f.body[k]?.trim()) out.push(`body {{${k}}}`)
  for (const b of buttons) if ((b.type === 'URL' && variables(b.url).length) || b.type === 'COPY_CODE') if (!f.buttons[b.index]?.trim()) out.push(`button “${b.text}”`)
  return out
}

export function TemplatePicker({
  open,
  onOpenChange,
  templates,
  loading,
  onSend,
  defaults,
  upload,
}: {
  open: boolean
  onOpenChange: (o: boolean) => void
  templates: Template[]
  loading: boolean
  onSend: (t: Template, components: Obj[], preview: string) => Promise<void>
  defaults: Record<string, string>
  /** upload stores a file as a wam media upload and gives its id. */
  upload: (file: File, onProgress: (fraction: number) => void) => Promise<string>
}) {
  const [chosen, setChosen] = React.useState<Template | null>(null)
  const [form, setForm] = React.useState<TemplateForm>({ header: {}, headerMedia: '', body: {}, buttons: {} })
  const [busy, setBusy] = React.useState(false)
  const [uploading, setUploading] = React.useState<number | null>(null)
  const [error, setError] = React.useState('')
  const [filter, setFilter] = React.useState('')
  React.useEffect(() => {
    if (!open) {
      setChosen(null)
      setError('')
    }
  }, [open])
  const pick = (t: Template) => {
    setChosen(t)
    setError('')
    const { body } = templateParts(t)
    const pre: Record<string, string> = {}
    for (const k of variables(str(body?.text))) if (defaults[k]) pre[k] = defaults[k]
    setForm({ header: {}, headerMedia: '', body: pre, buttons: {} })
  }
  const shown = templates.filter((t) => t.name.includes(filter.toLowerCase()))
  const parts = chosen ? templateParts(chosen) : null
  const headerFormat = str(parts?.header?.format).toUpperCase() || 'TEXT'
  const gaps = chosen ? missing(chosen, form) : []
  const preview = (text: string, values: Record<string, string>) => fillTemplate(text, variables(text).map((k) => (values[k] ? { type: 'text', text: values[k], parameter_name: /^\d+$/.test(k) ? undefined : k } : {})))
  const bodyText = parts ? preview(str(parts.body?.text), form.body) : ''
  const send = async () => {
    if (!chosen) return
    setBusy(true)
    setError('')
    try {
      await onSend(chosen, buildComponents(chosen, form), bodyText)
      onOpenChange(false)
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={chosen ? `Template: ${chosen.name}` : 'Send a template'} description={chosen ? `${chosen.language} · ${chosen.category}` : 'Approved templates can be sent at any time, also outside the 24-hour window.'} wide>
        {!chosen ? (
          <div className="grid gap-3">
            <Input placeholder="Search templates" aria-label="Search templates" value={filter} onChange={(e) => setFilter(e.target.value)} autoFocus />
            <ul className="grid max-h-96 gap-2 overflow-y-auto" aria-label="Templates">
              {loading ? <li className="text-sm text-muted-foreground">Loading templates…</li> : null}
              {!loading && shown.length === 0 ? <li className="text-sm text-muted-foreground">No approved templates. Create one in Settings → Templates.</li> : null}
              {shown.map((t) => (
                <li key={t.id + t.language}>
                  <button onClick={() => pick(t)} className="flex w-full items-start gap-3 rounded-lg border p-3 text-left hover:bg-accent" data-template-option={t.name}>
                    <FileText className="mt-0.5 size-4 shrink-0 text-primary" />
                    <span className="min-w-0">
                      <span className="block text-sm font-medium">
                        {t.name} <span className="text-xs font-normal text-muted-foreground">{t.language} · {t.category.toLowerCase()}</span>
                      </span>
                      <span className="line-clamp-2 block text-xs text-muted-foreground">{str(templateParts(t).body?.text)}</span>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <div className="grid gap-5 md:grid-cols-2">
            <form
              className="grid content-start gap-3"
              onSubmit={(e) => {
                e.preventDefault()
                if (!gaps.length) void send()
              }}
              aria-label="Template parameters"
            >
              {parts?.header && headerFormat === 'TEXT'
                ? variables(str(parts.header.text)).map((k) => (
                    <Field key={'h' + k} label={`Header {{${k}}}`} htmlFor={`th-${k}`}>
                      <Input id={`th-${k}`} value={form.header[k] ?? ''} onChange={(e) => setForm({ ...form, header: { ...form.header, [k]: e.target.value } })} />
                    </Field>
                  ))
                : null}
              {parts?.header && headerFormat !== 'TEXT' ? (
                <div className="space-y-2">
                  <Field label={`Header ${headerFormat.toLowerCase()} (https link)`} htmlFor="th-media">
                    <Input
                      id="th-media"
                      type="url"
                      placeholder="https://…"
                      value={form.headerMediaId ? '' : form.headerMedia}
                      disabled={!!form.headerMediaId}
                      onChange={(e) => setForm({ ...form, headerMedia: e.target.value })}
                    />
                  </Field>
                  <div className="flex items-center gap-2 text-sm">
                    <label className={cn('inline-flex cursor-pointer items-center rounded-md border px-2 py-1 focus-within:ring-2 focus-within:ring-ring', uploading !== null && 'opacity-60')}>
                      <span>or upload a file</span>
                      <input
                        type="file"
                        className="sr-only"
                        aria-label={`Upload the header ${headerFormat.toLowerCase()}`}
                        accept={headerFormat === 'IMAGE' ? 'image/jpeg,image/png' : headerFormat === 'VIDEO' ? 'video/mp4,video/3gpp' : undefined}
                        disabled={uploading !== null}
                        onChange={async (e) => {
                          const file = e.target.files?.[0]
                          e.target.value = ''
                          if (!file) return
                          setError('')
                          setUploading(0)
                          try {
                            const id = await upload(file, setUploading)
                            setForm((f) => ({ ...f, headerMediaId: id, headerMediaName: file.name }))
                          } catch (err) {
                            setError(err instanceof Error ? err.message : String(err))
                          } finally {
                            setUploading(null)
                          }
                        }}
                      />
                    </label>
                    {uploading !== null ? <span aria-live="polite">Uploading… {Math.round(uploading * 100)}%</span> : null}
                    {form.headerMediaId ? (
                      <span className="flex min-w-0 items-center gap-1" data-header-upload>
                        <span className="truncate">{form.headerMediaName}</span>
                        <Button variant="ghost" size="sm" onClick={() => setForm({ ...form, headerMediaId: undefined, headerMediaName: undefined })}>
                          Remove
                        </Button>
                      </span>
                    ) : null}
                  </div>
                </div>
              ) : null}
              {variables(str(parts?.body?.text)).map((k) => (
                <Field key={'b' + k} label={`Body {{${k}}}`} htmlFor={`tb-${k}`}>
                  <Input id={`tb-${k}`} value={form.body[k] ?? ''} onChange={(e) => setForm({ ...form, body: { ...form.body, [k]: e.target.value } })} />
                </Field>
              ))}
              {parts?.buttons
                .filter((b) => (b.type === 'URL' && variables(b.url).length) || b.type === 'COPY_CODE')
                .map((b) => (
                  <Field key={'btn' + b.index} label={b.type === 'URL' ? `Button “${b.text}” URL suffix` : `Button “${b.text}” code`} htmlFor={`tbtn-${b.index}`} hint={b.type === 'URL' ? b.url : undefined}>
                    <Input id={`tbtn-${b.index}`} value={form.buttons[b.index] ?? ''} onChange={(e) => setForm({ ...form, buttons: { ...form.buttons, [b.index]: e.target.value } })} />
                  </Field>
                ))}
              {gaps.length === 0 && variables(str(parts?.body?.text)).length === 0 && !parts?.header ? <p className="text-sm text-muted-foreground">This template has no parameters.</p> : null}
              {error ? (
                <p role="alert" className="text-sm text-destructive">
                  {error}
                </p>
              ) : null}
              <div className="flex gap-2">
                <Button type="button" variant="outline" onClick={() => setChosen(null)}>
                  Back
                </Button>
                <Button type="submit" disabled={busy || gaps.length > 0} title={gaps.length ? `Missing: ${gaps.join(', ')}` : undefined}>
                  {busy ? 'Sending…' : 'Send template'}
                </Button>
              </div>
            </form>
            <div className="rounded-lg bg-chat p-4" aria-label="Preview">
              <p className="mb-2 text-xs font-medium text-muted-foreground">Preview</p>
              <div className="ml-auto max-w-[90%] rounded-2xl rounded-br-md bg-bubble-out px-3 py-2 text-sm shadow-sm" data-testid="template-preview">
                {parts?.header && headerFormat === 'TEXT' ? <p className="font-semibold">{preview(str(parts.header.text), form.header)}</p> : null}
                {parts?.header && headerFormat !== 'TEXT' ? (
                  <div className={cn('mb-1 grid h-28 place-items-center rounded-md bg-black/10 text-xs text-muted-foreground')}>{headerFormat.toLowerCase()}</div>
                ) : null}
                <p className="whitespace-pre-wrap">{bodyText}</p>
                {parts?.footer ? <p className="mt-1 text-xs text-muted-foreground">{str(parts.footer.text)}</p> : null}
                {parts?.buttons.length ? (
                  <div className="mt-2 grid gap-1 border-t border-black/10 pt-1">
                    {parts.buttons.map((b) => (
                      <span key={b.index} className="text-center text-sm font-medium text-sky-600 dark:text-sky-400">
                        {b.text}
                      </span>
                    ))}
                  </div>
                ) : null}
              </div>
            </div>
          </div>
        )}
      </DialogContent>
    </Dialog>
  )
}
