/** Français. Same keys as en.ts (the compiler checks it); see en.ts for the conventions. */
import type { Messages } from './en.js';

export const fr: Messages = {
  // --- shared
  'app.name': 'Alexa Link',
  'skill.name': 'Music Assistant',
  'time.justNow': 'à l’instant',
  // end of shared

  // --- public pages: waiting page, errors (views/wait.ejs, views/error.ejs, views/pkce-required.ejs)
  'wait.title': 'Associer Alexa',
  'wait.heading': 'Associer Alexa à Home Assistant',
  'wait.codeIntro': 'Votre code d’association :',
  'wait.codeLabel': 'Code d’association {spelled}',
  'wait.step.open': 'Ouvrez Home Assistant et connectez-vous avec votre propre compte.',
  'wait.step.openLink': 'Ouvrez Home Assistant',
  'wait.step.openRest': 'et connectez-vous avec votre propre compte.',
  'wait.step.enter': 'Choisissez **Alexa Link** dans la barre latérale, saisissez le code et appuyez sur **Autoriser**.',
  'wait.step.back': 'Revenez ici : cette page continue toute seule.',
  'wait.pending': 'En attente de l’autorisation dans Home Assistant. Le code expire à {time}.',
  'wait.approved': 'Autorisé. Appuyez sur Continuer pour terminer l’association.',
  'wait.approvedFinishing': 'Autorisé. Association en cours…',
  'wait.denied': 'L’association a été refusée dans Home Assistant.',
  'wait.expired': 'Ce code a expiré. Recommencez l’association depuis l’application Alexa.',
  'wait.ended': 'Cette demande d’association est terminée. Recommencez l’association depuis l’application Alexa.',
  'wait.checkAgain': 'Vérifier à nouveau',
  'wait.continue': 'Continuer',
  'error.unknownClient.title': 'Application inconnue',
  'error.unknownClient.message':
    'Cette demande ne vient pas de la skill Alexa pour laquelle ce serveur est configuré. Recommencez l’association depuis l’application Alexa.',
  'error.redirect.title': 'Adresse de retour inattendue',
  'error.redirect.message':
    'L’adresse de retour (redirect URI) de cette demande n’est pas autorisée. Si vous gérez ce serveur, comparez l’identifiant vendeur et les redirect URI des options du module avec l’Alexa Developer Console.',
  'error.noRequest.title': 'Aucune demande d’association dans ce navigateur',
  'error.noRequest.message': 'Aucune demande d’association n’attend dans ce navigateur. Recommencez l’association depuis l’application Alexa.',
  'error.otherBrowser.message':
    'Seul le navigateur où l’association a commencé dans l’application Alexa peut la terminer. Recommencez l’association depuis l’application Alexa.',
  'error.ended.title': 'Cette demande d’association est terminée',
  'error.ended.message': 'Elle a expiré ou a déjà été utilisée. Recommencez l’association depuis l’application Alexa.',
  'pkce.title': 'PKCE est obligatoire',
  'pkce.heading': 'PKCE doit être activé',
  'pkce.intro':
    'Ce serveur n’associe des comptes Alexa que si la skill utilise PKCE, qui protège l’association contre l’interception. Le propriétaire de la skill peut l’activer :',
  'pkce.step1': 'Ouvrez la skill dans l’Alexa Developer Console et allez dans **Build → Account Linking**.',
  'pkce.step2': 'Sous **Security Provider Information**, activez **PKCE** (méthode de challenge S256).',
  'pkce.step3': 'Enregistrez, puis recommencez l’association depuis l’application Alexa.',
  'pkce.admin': 'Les administrateurs qui ne peuvent pas le faire peuvent mettre l’option require_pkce du module à false (moins sûr).',
  // end of public pages

  // --- panel (views/panel/*, views/partials/panel-*.ejs)
  'panel.tabs.label': 'Sections',
  'panel.tabs.link': 'Associer Alexa',
  'panel.tabs.links': 'Comptes associés',
  'panel.tabs.activity': 'Activité',
  'panel.signedInAs': 'Connecté à Home Assistant en tant que **{name}**.',
  'panel.you': 'vous',
  // end of panel
};
