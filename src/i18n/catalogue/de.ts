/** Deutsch. Same keys as en.ts (the compiler checks it); see en.ts for the conventions. */
import type { Messages } from './en.js';

export const de: Messages = {
  // --- shared
  'app.name': 'Alexa Link',
  'skill.name': 'Music Assistant',
  'time.justNow': 'gerade eben',
  // end of shared

  // --- public pages: waiting page, errors (views/wait.ejs, views/error.ejs, views/pkce-required.ejs)
  'wait.title': 'Alexa verknüpfen',
  'wait.heading': 'Alexa mit Home Assistant verknüpfen',
  'wait.codeIntro': 'Dein Verknüpfungscode:',
  'wait.codeLabel': 'Verknüpfungscode {spelled}',
  'wait.step.open': 'Öffne Home Assistant und melde dich mit deinem eigenen Konto an.',
  'wait.step.openLink': 'Öffne Home Assistant',
  'wait.step.openRest': 'und melde dich mit deinem eigenen Konto an.',
  'wait.step.enter': 'Wähle in der Seitenleiste **Alexa Link**, gib den Code ein und tippe auf **Zulassen**.',
  'wait.step.back': 'Komm hierher zurück: Diese Seite macht von selbst weiter.',
  'wait.pending': 'Warte auf die Freigabe in Home Assistant. Der Code läuft um {time} ab.',
  'wait.approved': 'Zugelassen. Tippe auf Weiter, um die Verknüpfung abzuschließen.',
  'wait.approvedFinishing': 'Zugelassen. Die Verknüpfung wird abgeschlossen…',
  'wait.denied': 'Die Verknüpfung wurde in Home Assistant abgelehnt.',
  'wait.expired': 'Dieser Code ist abgelaufen. Starte die Verknüpfung in der Alexa-App neu.',
  'wait.ended': 'Diese Verknüpfungsanfrage ist beendet. Starte die Verknüpfung in der Alexa-App neu.',
  'wait.checkAgain': 'Erneut prüfen',
  'wait.continue': 'Weiter',
  'error.unknownClient.title': 'Unbekannte Anwendung',
  'error.unknownClient.message':
    'Diese Anfrage kommt nicht von dem Alexa-Skill, für den dieser Server eingerichtet ist. Starte die Verknüpfung in der Alexa-App neu.',
  'error.redirect.title': 'Unerwartete Rücksprungadresse',
  'error.redirect.message':
    'Die Rücksprungadresse (Redirect-URI) dieser Anfrage ist nicht erlaubt. Wenn du diesen Server betreibst, vergleiche die Vendor-ID und die Redirect-URIs in den Add-on-Optionen mit der Alexa Developer Console.',
  'error.noRequest.title': 'Keine Verknüpfungsanfrage in diesem Browser',
  'error.noRequest.message': 'In diesem Browser wartet keine Verknüpfungsanfrage. Starte die Verknüpfung in der Alexa-App neu.',
  'error.otherBrowser.message':
    'Nur der Browser, in dem die Verknüpfung in der Alexa-App begonnen wurde, kann sie abschließen. Starte die Verknüpfung in der Alexa-App neu.',
  'error.ended.title': 'Diese Verknüpfungsanfrage ist beendet',
  'error.ended.message': 'Sie ist abgelaufen oder wurde schon verwendet. Starte die Verknüpfung in der Alexa-App neu.',
  'pkce.title': 'PKCE ist erforderlich',
  'pkce.heading': 'PKCE muss eingeschaltet sein',
  'pkce.intro':
    'Dieser Server verknüpft Alexa-Konten nur, wenn der Skill PKCE verwendet; das schützt die Verknüpfung vor dem Abfangen. Der Besitzer des Skills kann es einschalten:',
  'pkce.step1': 'Öffne den Skill in der Alexa Developer Console und gehe zu **Build → Account Linking**.',
  'pkce.step2': 'Schalte unter **Security Provider Information** **PKCE** ein (Code-Challenge-Methode S256).',
  'pkce.step3': 'Speichere und starte die Verknüpfung in der Alexa-App neu.',
  'pkce.admin': 'Administratoren, die das nicht können, können die Add-on-Option require_pkce auf false setzen (weniger sicher).',
  // end of public pages

  // --- panel (views/panel/*, views/partials/panel-*.ejs)
  'panel.tabs.label': 'Bereiche',
  'panel.tabs.link': 'Alexa verknüpfen',
  'panel.tabs.links': 'Verknüpfte Konten',
  'panel.tabs.activity': 'Aktivität',
  'panel.signedInAs': 'Bei Home Assistant angemeldet als **{name}**.',
  'panel.you': 'dich',
  // end of panel
};
