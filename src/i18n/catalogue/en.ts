/**
 * English: the reference catalogue. Every other language has exactly these keys (checked by the
 * compiler through `Messages`). `{name}` is a placeholder; `**words**` is bold in `rich()`.
 * Keys are grouped by page; each group ends with an "end of" line so additions stay in their group.
 */
export const en = {
  // --- shared
  'app.name': 'Alexa Link',
  'skill.name': 'Music Assistant',
  'time.justNow': 'just now',
  // end of shared

  // --- public pages: waiting page, errors (views/wait.ejs, views/error.ejs, views/pkce-required.ejs)
  'wait.title': 'Link Alexa',
  'wait.heading': 'Link Alexa to Home Assistant',
  'wait.codeIntro': 'Your link code:',
  'wait.codeLabel': 'Link code {spelled}',
  'wait.step.open': 'Open Home Assistant and sign in as yourself.',
  'wait.step.openLink': 'Open Home Assistant',
  'wait.step.openRest': 'and sign in as yourself.',
  'wait.step.enter': 'Choose **Alexa Link** in the sidebar, enter the code and press **Approve**.',
  'wait.step.back': 'Come back here: this page continues by itself.',
  'wait.pending': 'Waiting for approval in Home Assistant. The code expires at {time}.',
  'wait.approved': 'Approved. Continue to finish linking.',
  'wait.approvedFinishing': 'Approved. Finishing the link…',
  'wait.denied': 'The link was denied in Home Assistant.',
  'wait.expired': 'This code has expired. Start linking again from the Alexa app.',
  'wait.ended': 'This link request has ended. Start linking again from the Alexa app.',
  'wait.checkAgain': 'Check again',
  'wait.continue': 'Continue',
  'error.unknownClient.title': 'Unknown application',
  'error.unknownClient.message': 'This link request does not come from the Alexa skill this server is set up for. Start linking again from the Alexa app.',
  'error.redirect.title': 'Unexpected return address',
  'error.redirect.message':
    'The return address (redirect URI) of this request is not one of the allowed ones. If you run this server, check the vendor id and redirect URIs in the add-on options against the Alexa developer console.',
  'error.noRequest.title': 'No link request in this browser',
  'error.noRequest.message': 'This browser has no link request waiting. Start linking again from the Alexa app.',
  'error.otherBrowser.message': 'Only the browser that started linking in the Alexa app can finish it. Start linking again from the Alexa app.',
  'error.ended.title': 'This link request has ended',
  'error.ended.message': 'It expired or was already used. Start linking again from the Alexa app.',
  'pkce.title': 'PKCE is required',
  'pkce.heading': 'PKCE must be turned on',
  'pkce.intro':
    'This server only links Alexa accounts when the skill uses PKCE, which protects the link against interception. The skill’s owner can turn it on:',
  'pkce.step1': 'Open the skill in the Alexa developer console and go to **Build → Account Linking**.',
  'pkce.step2': 'Under **Security Provider Information**, enable **PKCE** (code challenge method S256).',
  'pkce.step3': 'Save, then start linking again from the Alexa app.',
  'pkce.admin': 'Administrators who cannot do this can set the add-on option require_pkce to false (less secure).',
  // end of public pages

  // --- panel (views/panel/*, views/partials/panel-*.ejs)
  'panel.tabs.label': 'Sections',
  'panel.tabs.link': 'Link Alexa',
  'panel.tabs.links': 'Linked accounts',
  'panel.tabs.activity': 'Activity',
  'panel.signedInAs': 'Signed in to Home Assistant as **{name}**.',
  'panel.you': 'you',
  // end of panel
} as const;

export type MessageKey = keyof typeof en;
/** What every language's catalogue must provide: every key, nothing else. */
export type Messages = { readonly [K in MessageKey]: string };
