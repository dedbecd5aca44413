import { Field, Input } from '@/components/ui/input'
import { fieldsFor, isoToLocal, localToISO, type Filter, type FilterKey } from '@/lib/history'
import { cn } from '@/lib/utils'

/** withValue adds a value the URL holds that the options do not name. */
function withValue(options: { value: string; label: string }[], v: string | undefined) {
  return v && !options.some((o) => o.value === v) ? [...options, { value: v, label: v }] : options
}

const select = 'h-9 w-full rounded-md border bg-background px-2 text-sm focus-visible:outline-2 focus-visible:outline-ring disabled:opacity-50'

/**
 * FilterFields are the webhook history's filters, one per FILTER_FIELDS
 * entry (the operators' too when operator): the list's form and the
 * replay dialog's selection are the same fields.
 */
export function FilterFields({
  value,
  onChange,
  operator,
  errors = {},
  idPrefix,
  disabled = [],
  tenants = [],
  narrow = false,
}: {
  value: Filter
  onChange: (f: Filter) => void
  operator: boolean
  errors?: Partial<Record<FilterKey, string>>
  idPrefix: string
  disabled?: FilterKey[]
  /** Tenant ids to suggest (an operator's tenant filter). */
  tenants?: string[]
  /** In a dialog: three columns at most. */
  narrow?: boolean
}) {
  const set = (k: FilterKey, v: string) => onChange({ ...value, [k]: v })
  return (
    <div className={cn('grid gap-3 sm:grid-cols-2', narrow ? 'md:grid-cols-3' : 'lg:grid-cols-4')}>
      {fieldsFor(operator).map((spec) => {
        const id = `${idPrefix}-${spec.key}`
        const off = disabled.includes(spec.key)
        const err = errors[spec.key]
        if (spec.kind === 'checkbox') {
          return (
            <div key={spec.key} className="grid content-end gap-1.5">
              <label htmlFor={id} className={cn('flex min-h-9 items-center gap-2 text-sm font-medium', off && 'opacity-50')}>
                <input id={id} type="checkbox" className="size-4 shrink-0 accent-[var(--primary)]" checked={value[spec.key] === 'true'} disabled={off} onChange={(e) => set(spec.key, e.target.checked ? 'true' : '')} aria-invalid={!!err} aria-describedby={spec.hint ? `${id}-hint` : undefined} />
                <span>
                  {spec.label}
                  {spec.hint ? (
                    <span id={`${id}-hint`} className="block text-xs font-normal text-muted-foreground">
                      {spec.hint}
                    </span>
                  ) : null}
                </span>
              </label>
              {err ? (
                <p className="text-xs text-destructive" role="alert">
                  {err}
                </p>
              ) : null}
            </div>
          )
        }
        return (
          <Field key={spec.key} label={spec.label} htmlFor={id} error={err} hint={spec.hint}>
            {spec.kind === 'select' ? (
              <select id={id} className={select} value={value[spec.key] ?? ''} disabled={off} onChange={(e) => set(spec.key, e.target.value)}>
                {withValue(spec.options!, value[spec.key]).map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            ) : spec.kind === 'datetime' ? (
              <Input id={id} type="datetime-local" value={isoToLocal(value[spec.key])} disabled={off} aria-invalid={!!err} onChange={(e) => set(spec.key, localToISO(e.target.value))} />
            ) : (
              <>
                <Input
                  id={id}
                  value={value[spec.key] ?? ''}
                  placeholder={spec.placeholder}
                  inputMode={spec.inputMode}
                  disabled={off}
                  aria-invalid={!!err}
                  list={spec.key === 'tenant_id' && tenants.length ? `${id}-list` : undefined}
                  autoComplete="off"
                  spellCheck={false}
                  onChange={(e) => set(spec.key, e.target.value)}
                />
                {spec.key === 'tenant_id' && tenants.length ? (
                  <datalist id={`${id}-list`}>
                    {tenants.map((t) => (
                      <option key={t} value={t} />
                    ))}
                  </datalist>
                ) : null}
              </>
            )}
          </Field>
        )
      })}
    </div>
  )
}
