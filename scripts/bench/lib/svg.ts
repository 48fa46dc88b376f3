/**
 * Hand-made SVG charts: small bar panels (median with a min–max whisker)
 * for the comparison, and a line chart for the soak's memory samples.
 */

export interface Bar {
  readonly label: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly color: string
}

export interface Panel {
  readonly title: string
  readonly unit: string
  readonly bars: readonly Bar[]
  /** A dashed reference line (e.g. a target) at this value. */
  readonly reference?: { readonly value: number, readonly label: string }
}

export const SERVER_COLORS = { raw: '#6b7280', sio: '#2563eb', wsgate: '#d97706' } as const

function esc (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function short (value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** A round top for an axis: 1, 2 or 5 times a power of ten, at or above value. */
export function niceCeil (value: number): number {
  if (!(value > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(value))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p
  return 10 * p
}

const W = 320
const H = 240

function panelSvg (panel: Panel, x: number, y: number): string {
  const left = 52
  const right = 12
  const top = 34
  const bottom = 34
  const plotW = W - left - right
  const plotH = H - top - bottom
  const finite = panel.bars.flatMap((b) => [b.max, b.median]).filter((v) => Number.isFinite(v))
  const top_ = niceCeil(Math.max(...finite, panel.reference?.value ?? 0, 0) * 1.1)
  const sy = (v: number): number => top + plotH - (Math.max(0, v) / top_) * plotH
  const parts: string[] = [`<g transform="translate(${x},${y})">`]
  parts.push(`<rect x="0.5" y="0.5" width="${W - 1}" height="${H - 1}" fill="#fff" stroke="#e5e7eb"/>`)
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="12" font-weight="600">${esc(panel.title)}</text>`)
  parts.push(`<text x="${W / 2}" y="29" text-anchor="middle" font-size="10" fill="#6b7280">${esc(panel.unit)}</text>`)
  for (let i = 0; i <= 4; i++) {
    const v = (top_ * i) / 4
    const yy = sy(v)
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="#f3f4f6"/>`)
    parts.push(`<text x="${left - 4}" y="${yy + 3}" text-anchor="end" font-size="9" fill="#6b7280">${short(v)}</text>`)
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#9ca3af"/>`)
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#9ca3af"/>`)
  const slot = plotW / Math.max(1, panel.bars.length)
  const barW = Math.min(48, slot * 0.6)
  panel.bars.forEach((bar, i) => {
    const cx = left + slot * i + slot / 2
    parts.push(`<text x="${cx}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${esc(bar.label)}</text>`)
    if (!Number.isFinite(bar.median)) {
      parts.push(`<text x="${cx}" y="${top + plotH - 6}" text-anchor="middle" font-size="9" fill="#9ca3af">n/a</text>`)
      return
    }
    const yTop = sy(bar.median)
    parts.push(`<rect x="${cx - barW / 2}" y="${yTop}" width="${barW}" height="${top + plotH - yTop}" fill="${bar.color}" opacity="0.85"/>`)
    if (Number.isFinite(bar.min) && Number.isFinite(bar.max) && bar.max > bar.min) {
      const y1 = sy(bar.min)
      const y2 = sy(bar.max)
      parts.push(`<line x1="${cx}" x2="${cx}" y1="${y1}" y2="${y2}" stroke="#111827"/>`)
      parts.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${y1}" y2="${y1}" stroke="#111827"/>`)
      parts.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${y2}" y2="${y2}" stroke="#111827"/>`)
    }
    parts.push(`<text x="${cx}" y="${Math.min(sy(bar.max), yTop) - 4}" text-anchor="middle" font-size="10">${short(bar.median)}</text>`)
  })
  if (panel.reference !== undefined) {
    const yy = sy(panel.reference.value)
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="#dc2626" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${W - right - 2}" y="${yy - 3}" text-anchor="end" font-size="9" fill="#dc2626">${esc(panel.reference.label)}</text>`)
  }
  parts.push('</g>')
  return parts.join('')
}

export function panelsSvg (title: string, subtitle: string, panels: readonly Panel[], columns = 3): string {
  const rowsCount = Math.ceil(panels.length / columns)
  const width = columns * W + (columns + 1) * 10
  const height = 56 + rowsCount * (H + 10)
  const body = panels.map((p, i) => panelSvg(p, 10 + (i % columns) * (W + 10), 50 + Math.floor(i / columns) * (H + 10))).join('\n')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#f9fafb"/>`,
    `<text x="12" y="22" font-size="15" font-weight="700">${esc(title)}</text>`,
    `<text x="12" y="40" font-size="11" fill="#4b5563">${esc(subtitle)}</text>`,
    body,
    '</svg>',
    ''
  ].join('\n')
}

export interface LineSeries {
  readonly label: string
  readonly color: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

/** Lines over a shared x axis (seconds), with optional labelled vertical markers. */
export function lineChartSvg (title: string, subtitle: string, yUnit: string, series: readonly LineSeries[], markers: ReadonlyArray<{ x: number, label: string }> = []): string {
  const width = 760
  const height = 360
  const left = 60
  const right = 20
  const top = 56
  const bottom = 40
  const plotW = width - left - right
  const plotH = height - top - bottom
  const xs = series.flatMap((s) => s.points.map((p) => p[0]))
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => Number.isFinite(v))
  const xMax = Math.max(1, ...xs)
  const yMax = niceCeil(Math.max(1, ...ys) * 1.1)
  const sx = (x: number): number => left + (x / xMax) * plotW
  const sy = (y: number): number => top + plotH - (y / yMax) * plotH
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="700">${esc(title)}</text>`,
    `<text x="12" y="40" font-size="11" fill="#4b5563">${esc(subtitle)}</text>`
  ]
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${sy(v)}" y2="${sy(v)}" stroke="#f3f4f6"/>`)
    parts.push(`<text x="${left - 5}" y="${sy(v) + 3}" text-anchor="end" font-size="10" fill="#6b7280">${short(v)}</text>`)
  }
  parts.push(`<text x="14" y="${top + plotH / 2}" font-size="10" fill="#6b7280" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle">${esc(yUnit)}</text>`)
  for (let i = 0; i <= 6; i++) {
    const v = (xMax * i) / 6
    parts.push(`<text x="${sx(v)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10" fill="#6b7280">${short(v)} s</text>`)
  }
  parts.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#9ca3af"/>`)
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#9ca3af"/>`)
  for (const m of markers) {
    parts.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${top}" y2="${top + plotH}" stroke="#9ca3af" stroke-dasharray="3 3"/>`)
    parts.push(`<text x="${sx(m.x) + 3}" y="${top + 10}" font-size="9" fill="#6b7280">${esc(m.label)}</text>`)
  }
  series.forEach((s, i) => {
    const d = s.points.filter((p) => Number.isFinite(p[1])).map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    parts.push(`<rect x="${left + 10 + i * 150}" y="${height - 14}" width="10" height="10" fill="${s.color}"/>`)
    parts.push(`<text x="${left + 24 + i * 150}" y="${height - 5}" font-size="11">${esc(s.label)}</text>`)
  })
  parts.push('</svg>', '')
  return parts.join('\n')
}
