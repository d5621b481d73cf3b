// The weekly report's charts: python -m analytics report inlines this file (ECharts inside)
// with the figures as JSON, and calls AnalyticsReport.render(data).
import { dailyOption, emotionOption, heatmapOption, hourlyOption, reasonsOption, renderChart, topicsOption } from './charts.js'

export function render(data) {
  const charts = {
    'chart-daily': dailyOption(data.series, data.promotions),
    'chart-hourly': hourlyOption(data.hourly),
    'chart-heatmap': heatmapOption(data.heatmap),
    'chart-reasons': reasonsOption(data.handoff_reasons),
    'chart-emotions': emotionOption(data.emotions),
    'chart-topics': topicsOption(data.topics),
  }
  for (const [id, option] of Object.entries(charts)) {
    const element = document.getElementById(id)
    // SVG: sharp when printed.
    if (element) renderChart(element, { ...option, animation: false }, 'svg')
  }
}
