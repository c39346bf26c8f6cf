/**
 * What a link request or a link is, in words people use: the Alexa region from the return
 * address, the access from the scope, the device and browser from the User-Agent. The
 * User-Agent is the browser's own claim (anyone can send any), so the panel only names it.
 */
import type { ALEXA_REDIRECT_HOSTS } from '../config/options.js';
import type { MessageKey, Translator } from '../i18n/index.js';

export type DeviceKind = 'androidPhone' | 'androidTablet' | 'iPhone' | 'iPad' | 'windows' | 'mac' | 'chromeOS' | 'linux' | 'unknown';
export type BrowserKind = 'edge' | 'samsung' | 'firefox' | 'chrome' | 'safari' | 'inApp' | 'unknown';

export interface Device {
  device: DeviceKind;
  browser: BrowserKind;
  /** The browser's major version, when it says one ("120"). */
  version: string | undefined;
}

/**
 * In this order: an Android User-Agent also says "Linux", an iPhone's and iPad's also say
 * "Mac OS X", ChromeOS says "Linux" too (as "X11; CrOS").
 */
const DEVICES: ReadonlyArray<[RegExp, (ua: string) => DeviceKind]> = [
  [/\bAndroid\b/, (ua) => (/\bMobile\b/.test(ua) ? 'androidPhone' : 'androidTablet')],
  [/\biPhone\b|\biPod\b/, () => 'iPhone'],
  [/\biPad\b/, () => 'iPad'],
  [/\bWindows\b/, () => 'windows'],
  [/\bCrOS\b/, () => 'chromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, () => 'mac'],
  [/\bLinux\b/, () => 'linux'],
];

/**
 * In this order: Edge and Samsung Internet also say "Chrome", Chrome also says "Safari". An app's
 * own browser (the Alexa app's sign-in window) is Android WebView ("; wv)") or, on iOS, WebKit
 * without the "Safari/" token.
 */
const BROWSERS: ReadonlyArray<[RegExp, BrowserKind]> = [
  [/; wv\)/, 'inApp'],
  [/\bEdg(?:A|iOS)?\/(\d+)/, 'edge'],
  [/\bSamsungBrowser\/(\d+)/, 'samsung'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'firefox'],
  [/\b(?:Chrome|CriOS)\/(\d+)/, 'chrome'],
  [/\bVersion\/(\d+)[^ ]* (?:Mobile\/\S+ )?Safari\//, 'safari'],
  [/\bSafari\//, 'safari'],
  [/\b(?:iPhone|iPad|iPod)\b.*\bAppleWebKit\/.*\bMobile\/\w+$/, 'inApp'],
];

export function describeDevice(userAgent: string): Device {
  const ua = userAgent.slice(0, 512);
  const device = DEVICES.find(([pattern]) => pattern.test(ua))?.[1](ua) ?? 'unknown';
  for (const [pattern, browser] of BROWSERS) {
    const match = pattern.exec(ua);
    if (match) return { device, browser, version: browser === 'inApp' ? undefined : match[1] };
  }
  return { device, browser: 'unknown', version: undefined };
}

/** "Android phone", "iPhone", "Windows computer" …, or undefined when the User-Agent says nothing known. */
export function deviceText(i18n: Translator, device: Device): string | undefined {
  return device.device === 'unknown' ? undefined : i18n.t(`panel.device.${device.device}` as MessageKey);
}

/** Names, the same in every language. */
const BROWSER_NAMES: Partial<Record<BrowserKind, string>> = {
  edge: 'Edge',
  samsung: 'Samsung Internet',
  firefox: 'Firefox',
  chrome: 'Chrome',
  safari: 'Safari',
};

/** "Chrome 120", "Samsung Internet 23", "in-app browser", or undefined. */
export function browserText(i18n: Translator, device: Device): string | undefined {
  if (device.browser === 'unknown') return undefined;
  const name = BROWSER_NAMES[device.browser] ?? i18n.t('panel.browser.inApp');
  return device.version ? `${name} ${device.version}` : name;
}

/** "Android phone · Chrome 120": both parts that are known, or undefined. */
export function deviceSummary(i18n: Translator, userAgent: string | undefined): string | undefined {
  if (userAgent === undefined) return undefined;
  const device = describeDevice(userAgent);
  const parts = [deviceText(i18n, device), browserText(i18n, device)].filter((part) => part !== undefined);
  return parts.length === 0 ? undefined : parts.join(' · ');
}

const REGIONS: Record<(typeof ALEXA_REDIRECT_HOSTS)[number], MessageKey> = {
  'pitangui.amazon.com': 'panel.region.northAmerica',
  'layla.amazon.com': 'panel.region.europe',
  'alexa.amazon.co.jp': 'panel.region.farEast',
};

/** "Alexa (Europe)" for Amazon's hosts; any other allowed return address by its host name. */
export function regionText(i18n: Translator, redirectUri: string): string {
  let host: string;
  try {
    host = new URL(redirectUri).host;
  } catch {
    return redirectUri;
  }
  const key = Object.hasOwn(REGIONS, host) ? REGIONS[host as keyof typeof REGIONS] : undefined;
  return key ? i18n.t('panel.region.alexa', { region: i18n.t(key) }) : host;
}

const SCOPES: Record<string, MessageKey> = { music_assistant: 'panel.scope.music_assistant' };

/** Each scope in words; one the catalogue does not know is shown as it is. */
export function scopeTexts(i18n: Translator, scope: string): string[] {
  return scope
    .split(' ')
    .filter(Boolean)
    .map((name) => (Object.hasOwn(SCOPES, name) ? i18n.t(SCOPES[name]!) : name));
}
