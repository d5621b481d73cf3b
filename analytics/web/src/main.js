// 数据雷达 dashboard: reads /api/analytics/* (the desk's supervisor login, or a bearer token).
import './style.css'
import { dailyOption, emotionOption, formatDelta, formatValue, heatmapOption, hourlyOption, reasonsOption, renderChart, topicsOption } from './charts.js'

const TOKEN_KEY = 'analytics-token'
const DIM_NAMES = { channel: '渠道', queue: '队列', agent: '客服', intent_group: '意图组', day: '日期', hour: '小时' }
const TILE_DRILL = { handoff_rate: 'handoff', handoff_wait: 'handoff', unserved_handoffs: 'unserved', ai_resolution: 'not_ai_resolved', fcr: 'recontact', csat: 'rated', rating_response: 'rated', frt: 'slow_frt', angry_share: 'angry', compliance: 'compliance_changed' }
const charts = {}
const $ = (id) => document.getElementById(id)
const escape = (text) => String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]))

function params(extra = {}) {
  const query = new URLSearchParams(extra)
  if ($('start').value) query.set('start', $('start').value)
  if ($('end').value) query.set('end', $('end').value)
  return query.toString()
}

async function api(path, extra) {
  const headers = {}
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token) headers.Authorization = `Bearer ${token}`
  const response = await fetch(`/api/analytics/${path}?${params(extra)}`, { headers, credentials: 'same-origin' })
  if (response.status === 401) { showLogin(); throw new Error('unauthorized') }
  const body = await response.json()
  if (!response.ok) throw new Error(body.error?.message || response.statusText)
  return body
}

function showLogin(message = '') {
  $('login').hidden = false
  $('content').hidden = true
  $('login-error').textContent = message
}

function chart(id, option) {
  if (!charts[id]) charts[id] = renderChart($(id), option)
  else charts[id].setOption(option, true)
  return charts[id]
}

function renderTiles(tiles) {
  $('tiles').innerHTML = tiles.map((t) => {
    const better = t.delta === null ? '' : ((t.delta > 0) === (t.direction === 'higher') ? 'up' : 'down')
    const arrow = t.delta === null || t.delta === 0 ? '' : (t.delta > 0 ? '▲' : '▼')
    return `<div class="tile ${t.status}" data-metric="${t.metric}">
      <div class="label">${escape(t.label)}</div>
      <div class="value">${formatValue(t.metric, t.value)}</div>
      <div class="meta">目标 ${formatValue(t.metric, t.target)} · 预警 ${formatValue(t.metric, t.alert)}</div>
      <div class="meta ${better}">较上期 ${arrow} ${formatDelta(t.metric, t.delta) || '—'}</div></div>`
  }).join('')
  for (const tile of document.querySelectorAll('.tile')) {
    tile.addEventListener('click', () => drill(TILE_DRILL[tile.dataset.metric] || 'all', {}, tile.querySelector('.label').textContent))
  }
}

function renderAlerts(alerts) {
  if (!alerts.length) { $('alerts').innerHTML = '<p class="muted">暂无异常。</p>'; return }
  $('alerts').innerHTML = alerts.map((a) => `<div class="alert-card">
    <strong>「${escape(a.term)}」${a.kind === 'topic' ? '(话题)' : ''} ${escape(a.window_start)} ~ ${escape(a.window_end)}</strong>
    <div class="stats">会话 ${a.observed},预期 ${(+a.expected).toFixed(1)}(×${a.ratio}),p=${(+a.p_value).toExponential(1)},q=${(+a.q_value).toExponential(1)}${a.promotion ? ',大促期间' : ''}${a.related?.length ? `<br>相关词:${escape(a.related.slice(0, 10).join('、'))}` : ''}</div>
    <ul>${(a.examples || []).map((e) => `<li>${escape(e.time?.slice(5, 16))} ${escape(e.text)}</li>`).join('')}</ul></div>`).join('')
}

async function renderBreakdown() {
  const dim = $('dimension').value
  const body = await api('breakdown', { dim })
  const head = `<tr><th>${DIM_NAMES[dim]}</th><th>会话</th><th>FRT</th><th>AHT</th><th>FCR</th><th>AI解决率</th><th>转人工率</th><th>CSAT</th><th>2分钟回复率</th><th>人工未服务</th></tr>`
  $('breakdown').innerHTML = head + body.rows.map((r) => `<tr class="clickable" data-value="${escape(r[dim])}">
    <td>${escape(r[dim])}</td><td>${r.sessions}${r.previous ? ` <span class="muted">(上期 ${r.previous.sessions})</span>` : ''}</td><td>${formatValue('frt', r.frt)}</td><td>${formatValue('aht', r.aht)}</td>
    <td>${formatValue('fcr', r.fcr)}</td><td>${formatValue('ai_resolution', r.ai_resolution)}</td><td>${formatValue('handoff_rate', r.handoff_rate)}</td>
    <td>${formatValue('csat', r.csat)}</td><td>${formatValue('reply_2min', r.reply_2min)}</td><td>${r.unserved_handoffs}</td></tr>`).join('')
  for (const row of document.querySelectorAll('#breakdown tr.clickable')) {
    row.addEventListener('click', () => drill('all', { dim, value: row.dataset.value }, `${DIM_NAMES[dim]}:${row.dataset.value}`))
  }
}

async function drill(kind, extra, title) {
  const body = await api('conversations', { drill: kind, limit: 200, ...extra })
  $('drill').hidden = false
  $('drill-title').textContent = `会话明细 · ${title}(${body.count} 个,号码地址已脱敏)`
  $('drill-table').innerHTML = '<tr><th>时间</th><th>渠道</th><th>意图组</th><th>首条消息</th><th>转人工</th><th>评分</th></tr>' +
    body.conversations.map((c) => `<tr class="clickable" data-id="${escape(c.session_id)}"><td>${escape(c.started.slice(5, 16))}</td>
      <td>${escape(c.channel)}</td><td>${escape(c.intent_group)}</td><td>${escape(c.first_message)}</td>
      <td>${c.handoffs}</td><td>${c.rating ?? ''}</td></tr>`).join('')
  for (const row of document.querySelectorAll('#drill-table tr.clickable')) {
    row.addEventListener('click', async () => {
      const detail = await api(`conversations/${encodeURIComponent(row.dataset.id)}`)
      $('transcript').innerHTML = detail.transcript.map((m) => `<div class="bubble"><span class="who">${escape(m.role)}</span>${escape(m.time.slice(11, 19))} ${escape(m.text)}</div>`).join('')
    })
  }
  $('drill').scrollIntoView({ behavior: 'smooth' })
}

async function load() {
  const overview = await api('overview')
  $('login').hidden = true
  $('content').hidden = false
  if (!$('start').value) { $('start').value = overview.start; $('end').value = overview.end }
  $('period-label').textContent = `统计周期 ${overview.start} 至 ${overview.end},与上一周期对比;会话 ${overview.current.sessions} 个`
  renderTiles(overview.tiles)
  const [daily, hourly, heat, topics, alerts] = await Promise.all([
    api('series', { bucket: 'day' }), api('breakdown', { dim: 'hour' }), api('heatmap'), api('topics'), api('alerts'),
  ])
  chart('chart-daily', dailyOption(daily.series, daily.promotions))
  chart('chart-hourly', hourlyOption(hourly.rows))
  chart('chart-heatmap', heatmapOption(heat.cells))
  chart('chart-reasons', reasonsOption(overview.handoff_reasons)).on('click', () => drill('handoff', {}, '转人工'))
  chart('chart-emotions', emotionOption(overview.emotions)).on('click', () => drill('angry', {}, '愤怒情绪'))
  chart('chart-topics', topicsOption(topics.topics)).on('click', (e) => drill('all', { topic: e.name }, `话题:${e.name}`))
  renderAlerts(alerts.alerts)
  await renderBreakdown()
  $('export-sessions').href = `/api/analytics/export.csv?${params({ kind: 'sessions' })}`
  $('export-daily').href = `/api/analytics/export.csv?${params({ kind: 'daily' })}`
  document.body.dataset.ready = 'true'
}

// CSV links carry no Authorization header: with a token, fetch and save them here.
for (const id of ['export-sessions', 'export-daily']) {
  $(id).addEventListener('click', async (event) => {
    const token = sessionStorage.getItem(TOKEN_KEY)
    if (!token) return
    event.preventDefault()
    const response = await fetch($(id).href, { headers: { Authorization: `Bearer ${token}` } })
    const url = URL.createObjectURL(await response.blob())
    const link = Object.assign(document.createElement('a'), { href: url, download: `${id}.csv` })
    link.click()
    URL.revokeObjectURL(url)
  })
}
$('period').addEventListener('submit', (event) => { event.preventDefault(); load().catch(console.error) })
$('dimension').addEventListener('change', () => renderBreakdown().catch(console.error))
$('login-button').addEventListener('click', () => {
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim())
  load().catch((error) => showLogin(error.message === 'unauthorized' ? '令牌不正确' : error.message))
})
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()))
load().catch((error) => { if (error.message !== 'unauthorized') showLogin(error.message) })
