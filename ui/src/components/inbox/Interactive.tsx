import * as React from 'react'
import { Plus, Trash2 } from 'lucide-react'
import { Dialog, DialogContent } from '@/components/ui/dialog'
import { Button } from '@/components/ui/button'
import { Field, Input, Textarea } from '@/components/ui/input'
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs'

/** A message with reply buttons (1–3, titles ≤ 20) or a list (≤ 10 rows, titles ≤ 24), as Meta takes them. */
export function InteractiveDialog({ open, onOpenChange, initialBody, onSend }: { open: boolean; onOpenChange: (o: boolean) => void; initialBody: string; onSend: (i: unknown, preview: string) => Promise<void> }) {
  const [kind, setKind] = React.useState<'button' | 'list'>('button')
  const [body, setBody] = React.useState('')
  const [buttons, setButtons] = React.useState(['Yes', 'No'])
  const [listButton, setListButton] = React.useState('Choose')
  const [rows, setRows] = React.useState([{ title: '', description: '' }])
  const [error, setError] = React.useState('')
  const [busy, setBusy] = React.useState(false)
  React.useEffect(() => {
    if (open) setBody(initialBody)
  }, [open, initialBody])
  const problems: string[] = []
  if (!body.trim()) problems.push('a body')
  if (body.length > 1024) problems.push('a body of at most 1024 characters')
  if (kind === 'button') {
    if (buttons.some((b) => !b.trim() || b.length > 20)) problems.push('button titles of 1 to 20 characters')
  } else {
    if (!listButton.trim() || listButton.length > 20) problems.push('a list button of 1 to 20 characters')
    if (rows.some((r) => !r.title.trim() || r.title.length > 24 || r.description.length > 72)) problems.push('row titles of 1 to 24 characters (descriptions ≤ 72)')
  }
  const send = async () => {
    setBusy(true)
    setError('')
    const action =
      kind === 'button'
        ? { buttons: buttons.map((title, i) => ({ type: 'reply', reply: { id: `btn_${i + 1}`, title } })) }
        : { button: listButton, sections: [{ title: 'Options', rows: rows.map((r, i) => ({ id: `row_${i + 1}`, title: r.title, ...(r.description ? { description: r.description } : {}) })) }] }
    try {
      await onSend({ type: kind, body: { text: body }, action }, body)
      onOpenChange(false)
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title="Interactive message" description="The customer answers with a tap.">
        <Tabs value={kind} onValueChange={(v) => setKind(v as 'button' | 'list')}>
          <TabsList>
            <TabsTrigger value="button">Reply buttons</TabsTrigger>
            <TabsTrigger value="list">List</TabsTrigger>
          </TabsList>
          <div className="mt-3 grid gap-3">
            <Field label="Body" htmlFor="ia-body">
              <Textarea id="ia-body" rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
            </Field>
            <TabsContent value="button" className="grid gap-2">
              {buttons.map((b, i) => (
                <div key={i} className="flex gap-2">
                  <Input aria-label={`Button ${i + 1}`} value={b} maxLength={20} onChange={(e) => setButtons(buttons.map((x, j) => (j === i ? e.target.value : x)))} />
                  <Button variant="ghost" size="icon" aria-label={`Remove button ${i + 1}`} disabled={buttons.length === 1} onClick={() => setButtons(buttons.filter((_, j) => j !== i))}>
                    <Trash2 />
                  </Button>
                </div>
              ))}
              {buttons.length < 3 ? (
                <Button variant="outline" size="sm" onClick={() => setButtons([...buttons, ''])}>
                  <Plus /> Add a button
                </Button>
              ) : null}
            </TabsContent>
            <TabsContent value="list" className="grid gap-2">
              <Field label="List button" htmlFor="ia-lb">
                <Input id="ia-lb" value={listButton} maxLength={20} onChange={(e) => setListButton(e.target.value)} />
              </Field>
              {rows.map((r, i) => (
                <div key={i} className="grid grid-cols-[1fr_1fr_auto] gap-2">
                  <Input aria-label={`Row ${i + 1} title`} placeholder="Title" value={r.title} maxLength={24} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)))} />
                  <Input aria-label={`Row ${i + 1} description`} placeholder="Description" value={r.description} maxLength={72} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, description: e.target.value } : x)))} />
                  <Button variant="ghost" size="icon" aria-label={`Remove row ${i + 1}`} disabled={rows.length === 1} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                    <Trash2 />
                  </Button>
                </div>
              ))}
              {rows.length < 10 ? (
                <Button variant="outline" size="sm" onClick={() => setRows([...rows, { title: '', description: '' }])}>
                  <Plus /> Add a row
                </Button>
              ) : null}
            </TabsContent>
            {error ? (
              <p className="text-sm text-destructive" role="alert">
                {error}
              </p>
            ) : null}
            <Button onClick={() => void send()} disabled={busy || problems.length > 0} title={problems.length ? `Needs ${problems.join(', ')}` : undefined}>
              {busy ? 'Sending…' : 'Send'}
            </Button>
          </div>
        </Tabs>
      </DialogContent>
    </Dialog>
  )
}
