// The desk API with the session cookie; every state change carries the CSRF token.
let csrf = ''

export function setCsrf(token) { csrf = token || '' }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `请求失败（HTTP ${status}）`)
    this.status = status
    this.code = body && body.error && body.error.code
    this.body = (body && body.error) || {}
  }
}

export async function call(method, path, body) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json'
    headers['X-CSRF-Token'] = csrf
  }
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  let data = null
  try { data = await response.json() } catch (e) { data = null }
  if (!response.ok) throw new ApiError(response.status, data)
  return data
}
