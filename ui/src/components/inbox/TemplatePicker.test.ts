import { describe, expect, it } from 'vitest'
import type { Template } from '@/api/types'
import { buildComponents, missing, type TemplateForm } from './TemplatePicker'

const tpl = {
  name: 'order_shipped',
  language: 'en_US',
  status: 'APPROVED',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'IMAGE' },
    { type: 'BODY', text: 'Hi {{1}}, order {{2}} is on its way.' },
  ],
} as unknown as Template

const form = (f: Partial<TemplateForm>): TemplateForm => ({ header: {}, headerMedia: '', body: { '1': 'Ann', '2': 'A-1' }, buttons: {}, ...f })

describe('template header media', () => {
  it('is asked for until a link or an upload is given', () => {
    expect(missing(tpl, form({}))).toEqual(['header image'])
    expect(missing(tpl, form({ headerMedia: 'ftp://x' }))).toEqual(['header image'])
    expect(missing(tpl, form({ headerMedia: 'https://example.com/a.jpg' }))).toEqual([])
    expect(missing(tpl, form({ headerMediaId: 'm-1' }))).toEqual([])
  })

  it('goes out by link, or by the upload id when there is one', () => {
    expect(buildComponents(tpl, form({ headerMedia: 'https://example.com/a.jpg' }))[0]).toEqual({
      type: 'header',
      parameters: [{ type: 'image', image: { link: 'https://example.com/a.jpg' } }],
    })
    const up = buildComponents(tpl, form({ headerMedia: 'https://example.com/a.jpg', headerMediaId: 'm-1' }))
    expect(up[0]).toEqual({ type: 'header', parameters: [{ type: 'image', image: { id: 'm-1' } }] })
    expect(up[1]).toEqual({ type: 'body', parameters: [{ type: 'text', text: 'Ann' }, { type: 'text', text: 'A-1' }] })
  })
})
