import { describe, expect, it } from 'vitest'
import { clean, filterFromSearch, filterToSearch, fraction, formatEta, formatRate, ignoredByAdopt, isoToLocal, localToISO, prettyJSON, selectionText, toQuery, toReplayRequest, validate, decodeBase64 } from './history'

describe('the filter', () => {
  it('goes from a URL to the API and back, dropping empty values', () => {
    const search = new URLSearchParams('kind=messages&phone_number_id=106540352242922&result=&from=2024-05-01T10:00:00.000Z&cursor=9')
    const f = filterFromSearch(search, false)
    expect(f).toEqual({ from: '2024-05-01T10:00:00.000Z', phone_number_id: '106540352242922', kind: 'messages' })
    expect(toQuery(f, false)).toEqual(f)
    expect(filterToSearch(f, false)).toBe('?from=2024-05-01T10%3A00%3A00.000Z&phone_number_id=106540352242922&kind=messages')
    expect(filterToSearch({}, false)).toBe('')
    expect(filterToSearch(f, false, { seq: '12', tab: '' })).toContain('&seq=12')
  })

  it("leaves a tenant's page without the operators' filters", () => {
    const search = new URLSearchParams('tenant_id=3f2b6c1e-5d4a-4b8e-9c7d-1a2b3c4d5e6f&unrouted=true&kind=statuses')
    expect(filterFromSearch(search, false)).toEqual({ kind: 'statuses' })
    expect(filterFromSearch(search, true)).toEqual({ tenant_id: '3f2b6c1e-5d4a-4b8e-9c7d-1a2b3c4d5e6f', unrouted: 'true', kind: 'statuses' })
    expect(toQuery({ unrouted: 'true', tenant_id: 'x' }, false)).toEqual({})
  })

  it('takes unrouted only as true', () => {
    expect(clean({ unrouted: 'false' }, true)).toEqual({})
    expect(clean({ unrouted: 'true' }, true)).toEqual({ unrouted: 'true' })
  })

  it('says what the API would refuse', () => {
    expect(validate({}, true)).toEqual({})
    const e = validate({ phone_number_id: '+1 555', kind: 'Messages', tenant_id: 'acme', unrouted: 'true', from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }, true)
    expect(Object.keys(e).sort()).toEqual(['kind', 'phone_number_id', 'tenant_id', 'to', 'unrouted'])
    expect(validate({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T00:00:00Z' }, false).to).toBeTruthy()
    expect(validate({ from: '2024-05-01T00:00:00Z', to: '2024-05-01T00:00:01Z' }, false)).toEqual({})
    // A tenant's page never sends them, so never complains of them.
    expect(validate({ tenant_id: 'acme' }, false)).toEqual({})
  })

  it('selects for a replay what the list of the same filter shows', () => {
    const f = { from: '2024-05-01T10:00:00.000Z', unrouted: 'true', phone_number_id: '1', kind: 'messages', result: 'parked' }
    expect(toReplayRequest(f, 'reproject', true, true)).toEqual({ mode: 'reproject', dry_run: true, from: f.from, unrouted: true, phone_number_id: '1', kind: 'messages', result: 'parked' })
    expect(toReplayRequest(f, 'reproject', false, false)).toEqual({ mode: 'reproject', dry_run: false, from: f.from, phone_number_id: '1', kind: 'messages', result: 'parked' })
  })

  it('gives adopt_unrouted only the tenant, and names what it ignores', () => {
    const t = '3f2b6c1e-5d4a-4b8e-9c7d-1a2b3c4d5e6f'
    expect(toReplayRequest({ tenant_id: t, kind: 'messages' }, 'adopt_unrouted', true, true)).toEqual({ mode: 'adopt_unrouted', dry_run: true, tenant_id: t })
    expect(toReplayRequest({ kind: 'messages' }, 'adopt_unrouted', false, false)).toEqual({ mode: 'adopt_unrouted', dry_run: false })
    expect(ignoredByAdopt({ tenant_id: t, kind: 'messages', result: '' }, true)).toEqual(['kind'])
  })

  it("turns a datetime-local value into UTC and back, in the browser's zone", () => {
    const iso = localToISO('2024-05-01T10:30')
    expect(iso).toMatch(/^2024-05-0[12]T\d\d:30:00\.000Z$/)
    expect(isoToLocal(iso)).toBe('2024-05-01T10:30')
    expect(localToISO('')).toBe('')
    expect(localToISO('not a date')).toBe('')
    expect(isoToLocal(undefined)).toBe('')
  })
})

describe('prettyJSON', () => {
  it('indents without touching values', () => {
    const raw = '{"entry":[{"id":"102290129340398","n":12345678901234567890,"x":1.50,"s":"a \\"quoted\\", {not: structure}","e":[],"o":{ }}],"b":true}'
    expect(prettyJSON(raw)).toBe(
      [
        '{',
        '  "entry": [',
        '    {',
        '      "id": "102290129340398",',
        '      "n": 12345678901234567890,',
        '      "x": 1.50,',
        '      "s": "a \\"quoted\\", {not: structure}",',
        '      "e": [],',
        '      "o": {}',
        '    }',
        '  ],',
        '  "b": true',
        '}',
      ].join('\n'),
    )
  })

  it('keeps the spaces inside strings and drops those between tokens', () => {
    expect(prettyJSON(' [ 1 ,\n "a  b" ] ')).toBe('[\n  1,\n  "a  b"\n]')
    expect(prettyJSON('"just a string"')).toBe('"just a string"')
    expect(prettyJSON('"ends in a backslash\\\\"')).toBe('"ends in a backslash\\\\"')
  })

  it('answers null for what is not JSON', () => {
    expect(prettyJSON('{"a":')).toBeNull()
    expect(prettyJSON('not json')).toBeNull()
  })

  it('gives back the same value as the text', () => {
    const raw = JSON.stringify({ a: [1, { b: 'c,d:e' }, null], f: 'g\\"h', u: '\u00e9\u{1F600}' })
    expect(JSON.parse(prettyJSON(raw)!)).toEqual(JSON.parse(raw))
  })
})

describe('figures', () => {
  it('formats rates and ETAs', () => {
    expect(formatRate(0)).toBe('0/s')
    expect(formatRate(0.25)).toBe('0.3/s')
    expect(formatRate(49.6)).toBe('50/s')
    expect(formatEta(0)).toBe('—')
    expect(formatEta(null)).toBe('—')
    expect(formatEta(45)).toBe('45 s')
    expect(formatEta(185)).toBe('3 min 5 s')
    expect(formatEta(7800)).toBe('2 h 10 min')
  })

  it('tells how far a job is', () => {
    expect(fraction(250, 300, false)).toBeCloseTo(0.833, 3)
    expect(fraction(0, 0, false)).toBe(0)
    expect(fraction(0, 0, true)).toBe(1)
    expect(fraction(400, 300, false)).toBe(1)
  })

  it("says a replay job's selection in a line", () => {
    expect(selectionText({ to_seq: 1200, kind: 'messages', unrouted: true, from_seq: 0 })).toBe('up to #1200, kind messages, unrouted')
    expect(selectionText({})).toBe('everything')
    expect(selectionText(null)).toBe('everything')
  })

  it('decodes a parked event', () => {
    expect(decodeBase64(btoa('{"a":1}'))).toBe('{"a":1}')
    expect(decodeBase64('w6k=')).toBe('é')
  })
})
