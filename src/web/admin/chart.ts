/** A hand-written SVG line chart: a few series over the latest samples, one shared y scale. */

const SVG = 'http://www.w3.org/2000/svg'
const WIDTH = 600
const HEIGHT = 150
const PAD = { left: 40, right: 8, top: 8, bottom: 18 }

function svg<K extends keyof SVGElementTagNameMap> (tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value))
  if (text !== undefined) element.textContent = text
  return element
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `value`, so the axis reads in round numbers. */
export function niceCeiling (value: number): number {
  if (!(value > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude
  return 10 * magnitude
}

function label (value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

export interface Series {
  /** Oldest first. */
  values: number[]
  /** The colour class of style.css: s0, s1, s2. */
  tone: string
}

/** Draws `series` into `target`, `capacity` samples wide, newest at the right edge. */
export function drawChart (target: SVGSVGElement, series: Series[], capacity: number, caption: string): void {
  target.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`)
  const plotW = WIDTH - PAD.left - PAD.right
  const plotH = HEIGHT - PAD.top - PAD.bottom
  const max = niceCeiling(Math.max(0, ...series.flatMap((s) => s.values)))
  const x = (i: number, n: number): number => PAD.left + plotW - (n - 1 - i) * (plotW / Math.max(1, capacity - 1))
  const y = (v: number): number => PAD.top + plotH - (v / max) * plotH
  const nodes: SVGElement[] = []
  for (const tick of [0, max / 2, max]) {
    nodes.push(svg('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick) }))
    nodes.push(svg('text', { class: 'axis-label', x: PAD.left - 6, y: y(tick) + 3, 'text-anchor': 'end' }, label(tick)))
  }
  nodes.push(svg('text', { class: 'axis-label', x: PAD.left, y: HEIGHT - 4 }, caption))
  nodes.push(svg('text', { class: 'axis-label', x: WIDTH - PAD.right, y: HEIGHT - 4, 'text-anchor': 'end' }, 'now'))
  // Reversed, so the first series is drawn last, on top; only it gets a filled area, or overlaps would muddy.
  for (const [index, { values, tone }] of [...series.entries()].reverse()) {
    if (values.length === 0) continue
    const points = values.map((v, i) => `${x(i, values.length).toFixed(1)},${y(v).toFixed(1)}`)
    const first = x(0, values.length).toFixed(1)
    const last = x(values.length - 1, values.length).toFixed(1)
    const bottom = y(0).toFixed(1)
    if (index === 0) nodes.push(svg('polygon', { class: `area ${tone}`, points: `${first},${bottom} ${points.join(' ')} ${last},${bottom}` }))
    nodes.push(svg('polyline', { class: `series ${tone}`, points: points.join(' '), 'vector-effect': 'non-scaling-stroke' }))
    const lastValue = values[values.length - 1] ?? 0
    nodes.push(svg('circle', { class: tone, cx: last, cy: y(lastValue).toFixed(1), r: 3 }))
  }
  target.replaceChildren(...nodes)
}
