/** Nederlands. Same keys as en.ts (the compiler checks it); see en.ts for the conventions. */
import type { Messages } from './en.js';

export const nl: Messages = {
  // --- shared
  'app.name': 'Alexa Link',
  'skill.name': 'Music Assistant',
  'time.justNow': 'zojuist',
  // end of shared

  // --- public pages: waiting page, errors (views/wait.ejs, views/error.ejs, views/pkce-required.ejs)
  'wait.title': 'Alexa koppelen',
  'wait.heading': 'Alexa koppelen aan Home Assistant',
  'wait.codeIntro': 'Je koppelcode:',
  'wait.codeLabel': 'Koppelcode {spelled}',
  'wait.step.open': 'Open Home Assistant en log in met je eigen account.',
  'wait.step.openLink': 'Open Home Assistant',
  'wait.step.openRest': 'en log in met je eigen account.',
  'wait.step.enter': 'Kies **Alexa Link** in de zijbalk, voer de code in en tik op **Toestaan**.',
  'wait.step.back': 'Kom hier terug: deze pagina gaat vanzelf verder.',
  'wait.pending': 'Wacht op goedkeuring in Home Assistant. De code verloopt om {time}.',
  'wait.approved': 'Goedgekeurd. Tik op Doorgaan om het koppelen af te ronden.',
  'wait.approvedFinishing': 'Goedgekeurd. Het koppelen wordt afgerond…',
  'wait.denied': 'Het koppelen is in Home Assistant geweigerd.',
  'wait.expired': 'Deze code is verlopen. Begin opnieuw met koppelen in de Alexa-app.',
  'wait.ended': 'Dit koppelverzoek is beëindigd. Begin opnieuw met koppelen in de Alexa-app.',
  'wait.checkAgain': 'Opnieuw controleren',
  'wait.continue': 'Doorgaan',
  'error.unknownClient.title': 'Onbekende toepassing',
  'error.unknownClient.message':
    'Dit koppelverzoek komt niet van de Alexa-skill waarvoor deze server is ingesteld. Begin opnieuw met koppelen in de Alexa-app.',
  'error.redirect.title': 'Onverwacht terugkeeradres',
  'error.redirect.message':
    'Het terugkeeradres (redirect-URI) van dit verzoek is niet toegestaan. Beheer je deze server, vergelijk dan de vendor-ID en de redirect-URI’s in de add-on-opties met de Alexa Developer Console.',
  'error.noRequest.title': 'Geen koppelverzoek in deze browser',
  'error.noRequest.message': 'In deze browser wacht geen koppelverzoek. Begin opnieuw met koppelen in de Alexa-app.',
  'error.otherBrowser.message': 'Alleen de browser waarin het koppelen in de Alexa-app begon, kan het afronden. Begin opnieuw met koppelen in de Alexa-app.',
  'error.ended.title': 'Dit koppelverzoek is beëindigd',
  'error.ended.message': 'Het is verlopen of al gebruikt. Begin opnieuw met koppelen in de Alexa-app.',
  'pkce.title': 'PKCE is vereist',
  'pkce.heading': 'PKCE moet aan staan',
  'pkce.intro':
    'Deze server koppelt Alexa-accounts alleen als de skill PKCE gebruikt; dat beschermt de koppeling tegen onderschepping. De eigenaar van de skill kan het aanzetten:',
  'pkce.step1': 'Open de skill in de Alexa Developer Console en ga naar **Build → Account Linking**.',
  'pkce.step2': 'Zet onder **Security Provider Information** **PKCE** aan (code-challenge-methode S256).',
  'pkce.step3': 'Sla op en begin opnieuw met koppelen in de Alexa-app.',
  'pkce.admin': 'Beheerders die dit niet kunnen, kunnen de add-on-optie require_pkce op false zetten (minder veilig).',
  // end of public pages

  // --- panel (views/panel/*, views/partials/panel-*.ejs)
  'panel.tabs.label': 'Onderdelen',
  'panel.tabs.link': 'Alexa koppelen',
  'panel.tabs.links': 'Gekoppelde accounts',
  'panel.tabs.activity': 'Activiteit',
  'panel.signedInAs': 'Aangemeld bij Home Assistant als **{name}**.',
  'panel.you': 'jou',
  // end of panel
};
