/** A minimal browser for tests: keeps cookies per origin, does not follow redirects by itself. */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly headers: Record<string, string> = {}) {}

  async get(url: string | URL, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(url, { headers });
  }

  /** A form POST (application/x-www-form-urlencoded), with this browser's cookies. */
  async post(url: string | URL, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(url, { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  private async send(url: string | URL, init: { method?: string; body?: URLSearchParams; headers: Record<string, string> }): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...this.headers, ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows relative or absolute Location headers from `response`, resolved against `base`. */
  static location(response: Response, base: string | URL): URL {
    const location = response.headers.get('location');
    if (!location) throw new Error(`no Location header (status ${response.status})`);
    return new URL(location, base);
  }
}
