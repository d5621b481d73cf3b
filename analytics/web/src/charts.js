// Chart options shared by the dashboard and the weekly report (same charts in both).
import * as echarts from 'echarts'

export const PERCENT = new Set(['fcr', 'ai_resolution', 'handoff_rate', 'csat', 'rating_response',
  'conversion', 'compliance', 'reply_2min', 'reply_3min', 'angry_share'])
export const SECONDS = new Set(['frt', 'handoff_wait', 'aht'])
const EMOTION_NAMES = { calm: '平静', anxious: '焦虑', angry: '愤怒', unknown: '未识别' }

export function formatValue(metric, value) {
  if (value === null || value === undefined) return '—'
  if (PERCENT.has(metric)) return `${(value * 100).toFixed(1)}%`
  if (SECONDS.has(metric)) return value >= 120 ? `${(value / 60).toFixed(1)} 分钟` : `${value.toFixed(1)} 秒`
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}

export function formatDelta(metric, delta) {
  if (delta === null || delta === undefined) return ''
  const sign = delta > 0 ? '+' : ''
  if (PERCENT.has(metric)) return `${sign}${(delta * 100).toFixed(1)} 个百分点`
  if (SECONDS.has(metric)) return `${sign}${delta.toFixed(1)} 秒`
  return `${sign}${Number.isInteger(delta) ? delta : delta.toFixed(1)}`
}

const pct = (v) => (v === null || v === undefined ? null : +(v * 100).toFixed(1))

// Promotion days (the API's `promotions`, from the targets.yml calendar) as a shaded area.
function promotionArea(promotions) {
  return {
    silent: true,
    itemStyle: { color: 'rgba(250, 200, 88, 0.18)' },
    label: { position: 'insideTop', color: '#b07d00', fontSize: 11 },
    data: (promotions || []).map((p) => [{ name: p.name, xAxis: p.start.slice(5) }, { xAxis: p.end.slice(5) }]),
  }
}

export function dailyOption(series, promotions = []) {
  return {
    title: { text: '每日趋势', left: 'center', top: 0, textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 26, data: ['会话数', '上期会话数', 'AI解决率', '首次解决率', '2分钟回复率'] },
    grid: { top: 60, left: 50, right: 50, bottom: 30 },
    xAxis: { type: 'category', data: series.map((r) => r.bucket.slice(5)) },
    yAxis: [{ type: 'value', name: '会话' }, { type: 'value', name: '%', max: 100 }],
    series: [
      { name: '会话数', type: 'bar', data: series.map((r) => r.sessions), itemStyle: { color: '#91cc75' }, markArea: promotionArea(promotions) },
      // the same day one period earlier (the API's `previous`)
      { name: '上期会话数', type: 'line', data: series.map((r) => r.previous?.sessions ?? null), lineStyle: { type: 'dashed' }, itemStyle: { color: '#999' }, symbol: 'none' },
      { name: 'AI解决率', type: 'line', yAxisIndex: 1, data: series.map((r) => pct(r.ai_resolution)) },
      { name: '首次解决率', type: 'line', yAxisIndex: 1, data: series.map((r) => pct(r.fcr)) },
      { name: '2分钟回复率', type: 'line', yAxisIndex: 1, data: series.map((r) => pct(r.reply_2min)) },
    ],
  }
}

export function hourlyOption(rows) {
  return {
    title: { text: '按小时(会话数 / 首次响应)', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    grid: { top: 50, left: 50, right: 50, bottom: 30 },
    xAxis: { type: 'category', data: rows.map((r) => `${r.hour}时`) },
    yAxis: [{ type: 'value', name: '会话' }, { type: 'value', name: '秒' }],
    series: [
      { name: '会话数', type: 'bar', data: rows.map((r) => r.sessions), itemStyle: { color: '#5470c6' } },
      { name: '平均FRT(秒)', type: 'line', yAxisIndex: 1, data: rows.map((r) => (r.frt === null ? null : +r.frt.toFixed(1))) },
    ],
  }
}

export function heatmapOption(cells) {
  const max = Math.max(1, ...cells.map((c) => c[2]))
  return {
    title: { text: '星期 × 小时 会话热力图', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { position: 'top' },
    grid: { top: 40, left: 50, right: 20, bottom: 60 },
    xAxis: { type: 'category', data: [...Array(24).keys()].map((h) => `${h}`), splitArea: { show: true } },
    yAxis: { type: 'category', data: ['周一', '周二', '周三', '周四', '周五', '周六', '周日'], splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ name: '会话', type: 'heatmap', data: cells.map((c) => [c[1], c[0], c[2]]) }],
  }
}

export function reasonsOption(reasons, names = {}) {
  const entries = Object.entries(reasons || {})
  return {
    title: { text: '转人工原因', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    grid: { top: 40, left: 120, right: 30, bottom: 20 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: entries.map(([k]) => names[k] || k).reverse() },
    series: [{ type: 'bar', name: '次数', data: entries.map(([, v]) => v).reverse(), itemStyle: { color: '#ee6666' } }],
  }
}

export function emotionOption(emotions) {
  return {
    title: { text: '顾客情绪分布', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'item' },
    series: [{
      type: 'pie', radius: ['35%', '65%'], top: 20,
      data: Object.entries(emotions || {}).map(([k, v]) => ({ name: EMOTION_NAMES[k] || k, value: v })),
    }],
  }
}

export function topicsOption(topics) {
  const rows = (topics || []).slice(0, 15)
  return {
    title: { text: '话题(本期 / 上期)', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 26, data: ['本期', '上期'] },
    grid: { top: 55, left: 130, right: 30, bottom: 20 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: rows.map((r) => r.topic).reverse() },
    series: [
      { name: '本期', type: 'bar', data: rows.map((r) => r.sessions).reverse(), itemStyle: { color: '#fac858' } },
      { name: '上期', type: 'bar', data: rows.map((r) => r.previous ?? 0).reverse(), itemStyle: { color: '#cccccc' } },
    ],
  }
}

export function renderChart(element, option, renderer = 'canvas') {
  const chart = echarts.init(element, null, { renderer })
  chart.setOption(option)
  return chart
}

export { echarts }
