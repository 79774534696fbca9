// The admin API, as the panel calls it: the session cookie travels by itself (HttpOnly: no script sees
// it); requests that change anything carry the session's CSRF token, held here in memory only.

const root = new URL("../", document.baseURI); // the panel lives at <root>ui/; the API at <root>admin/api/
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error;
    super(error && error.message ? error.message : `The gateway answered ${status}.`);
    this.status = status;
    this.code = error ? error.code : null;
  }
}

export const setCsrf = (token) => { csrfToken = token; };

/** The absolute URL of a gateway path (e.g. "admin/api/keys"), with query parameters that have a value. */
export function gatewayUrl(path, query = {}) {
  const url = new URL(path.replace(/^\//, ""), root);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

/** Call the admin API; resolves with the JSON body, rejects with an ApiError. A 401 outside the
 * session routes means the session ended: the app is told, and shows the sign-in page. */
export async function api(path, {method = "GET", body, query} = {}) {
  const headers = {accept: "application/json"};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let response;
  try {
    response = await fetch(gatewayUrl(`admin/api/${path}`, query), {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (error) {
    throw new ApiError(0, {error: {message: `The gateway could not be reached (${error.message}).`}});
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !path.startsWith("session")) {
      window.dispatchEvent(new CustomEvent("llmswitch:signed-out", {detail: error.message}));
    }
    throw error;
  }
  return data;
}
