package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// messages holds the built-in labels of the public pages, per language
// base. English is complete and is the fallback; every other language must
// have the same keys (a test checks it). Opt-in texts and campaign names
// are the customer's and are never translated.
var messages = map[string]map[string]string{
	"en": {
		"months": "January February March April May June July August September October November December",
		"date":   "%[1]s %[2]s %[3]d",

		"form.email":       "Email address",
		"form.first_name":  "First name",
		"form.last_name":   "Last name",
		"form.optional":    "optional",
		"form.required":    "required",
		"form.yes":         "Yes",
		"form.no":          "No",
		"form.more_info":   "More information",
		"form.new_tab":     "(opens in a new tab)",
		"form.submit":      "Submit",
		"form.withdraw":    "You can withdraw your consent at any time.",
		"errors.title":     "There is a problem",
		"errors.prefix":    "Error:",
		"errors.page":      "Error: %s",
		"errors.context":   "%s: “%s”",
		"err.email.empty":  "Enter your email address",
		"err.email.format": "Enter a valid email address, like name@example.com",
		"err.first_name":   "Enter your first name",
		"err.last_name":    "Enter your last name",
		"err.too_long":     "This is too long: 100 characters at most",
		"err.mandatory":    "You must accept this to take part",
		"err.field":        "Check this answer",
		"err.form":         "The form could not be sent. Please reload the page and try again.",

		"closed.title": "This campaign has ended",
		"closed.text":  "It no longer accepts participations. Thank you for your interest.",
		"soon.title":   "This form is not open yet",
		"soon.text":    "It opens on %s.",

		"thanks.title":       "Thank you!",
		"thanks.text":        "Your answers have been recorded.",
		"thanks.pending":     "One more step: we have sent you an email. Click the link in it to confirm your subscription.",
		"thanks.spam":        "If it has not arrived within a few minutes, check your spam folder.",
		"thanks.preferences": "You can review your choices and withdraw your consent at any time:",
		"prefs.link":         "Manage my preferences",

		"confirm.title":         "Confirm your subscription",
		"confirm.text":          "Please confirm that you agree to:",
		"confirm.button":        "Confirm",
		"confirm.done_title":    "Thank you, it is confirmed",
		"confirm.done_text":     "Your consent is confirmed for:",
		"confirm.already_title": "Already confirmed",
		"confirm.already_text":  "You have already confirmed this. There is nothing more to do.",
		"confirm.expired_title": "This link has expired",
		"confirm.expired_text":  "Confirmation links work for a limited time only. To subscribe, please fill in the form again.",

		"prefs.title":          "Your preferences",
		"prefs.for":            "For %s",
		"prefs.intro":          "Here is everything you were asked to agree to, with your current answer. You can withdraw any consent with one click.",
		"prefs.none":           "No consent is recorded for you.",
		"prefs.withdraw":       "Withdraw",
		"prefs.withdraw_all":   "Withdraw all my consents",
		"prefs.all_hint":       "This withdraws every consent above that you gave or that awaits your confirmation.",
		"prefs.withdrawn_one":  "Done: you withdrew your consent to “%s”.",
		"prefs.withdrawn_all":  "Done: you withdrew all your consents.",
		"prefs.nothing_active": "You have no active consent: there is nothing to withdraw.",
		"state.given":          "You agreed",
		"state.pending":        "Waiting for your confirmation by email",
		"state.refused":        "You declined",
		"state.withdrawn":      "You withdrew your consent",
		"state.expired":        "Not confirmed in time",
		"state.none":           "No answer",
		"since":                "since %s",

		"error.not_found_title": "Page not found",
		"error.not_found_text":  "This link is not valid or no longer works. Check that you copied it completely.",
		"error.internal_title":  "Something went wrong",
		"error.internal_text":   "Sorry, something went wrong on our side. Please try again in a few minutes.",
		"error.reference":       "Reference: %s",
		"error.forbidden_title": "This request was refused",
		"error.forbidden_text":  "For your security, this form can only be sent from its own page. Go back to the form, reload it and send it again.",
		"error.rate_title":      "Too many attempts",
		"error.rate_text":       "This form was sent too many times in a short while from your connection. Please wait %d seconds, then try again.",
		"error.bad_title":       "This request could not be read",
		"error.bad_text":        "Please go back to the previous page and try again.",
		"error.back_form":       "Back to the form",
		"error.back_page":       "Back to the page",
	},
	"fr": {
		"months": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
		"date":   "%[1]s %[2]s %[3]d",

		"form.email":       "Adresse e-mail",
		"form.first_name":  "Prénom",
		"form.last_name":   "Nom",
		"form.optional":    "facultatif",
		"form.required":    "obligatoire",
		"form.yes":         "Oui",
		"form.no":          "Non",
		"form.more_info":   "En savoir plus",
		"form.new_tab":     "(s’ouvre dans un nouvel onglet)",
		"form.submit":      "Envoyer",
		"form.withdraw":    "Vous pouvez retirer votre consentement à tout moment.",
		"errors.title":     "Il y a un problème",
		"errors.prefix":    "Erreur\u00a0:",
		"errors.page":      "Erreur\u00a0: %s",
		"errors.context":   "%s\u00a0: «\u00a0%s\u00a0»",
		"err.email.empty":  "Saisissez votre adresse e-mail",
		"err.email.format": "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr",
		"err.first_name":   "Saisissez votre prénom",
		"err.last_name":    "Saisissez votre nom",
		"err.too_long":     "C’est trop long\u00a0: 100 caractères au maximum",
		"err.mandatory":    "Vous devez accepter ceci pour participer",
		"err.field":        "Vérifiez cette réponse",
		"err.form":         "Le formulaire n’a pas pu être envoyé. Rechargez la page et réessayez.",

		"closed.title": "Cette campagne est terminée",
		"closed.text":  "Elle n’accepte plus de participations. Merci de votre intérêt.",
		"soon.title":   "Ce formulaire n’est pas encore ouvert",
		"soon.text":    "Il ouvrira le %s.",

		"thanks.title":       "Merci\u00a0!",
		"thanks.text":        "Vos réponses ont bien été enregistrées.",
		"thanks.pending":     "Encore une étape\u00a0: nous vous avons envoyé un e-mail. Cliquez sur le lien qu’il contient pour confirmer votre inscription.",
		"thanks.spam":        "S’il n’est pas arrivé d’ici quelques minutes, vérifiez vos courriers indésirables.",
		"thanks.preferences": "Vous pouvez revoir vos choix et retirer votre consentement à tout moment\u00a0:",
		"prefs.link":         "Gérer mes préférences",

		"confirm.title":         "Confirmez votre inscription",
		"confirm.text":          "Merci de confirmer que vous acceptez\u00a0:",
		"confirm.button":        "Je confirme",
		"confirm.done_title":    "Merci, c’est confirmé",
		"confirm.done_text":     "Votre consentement est confirmé pour\u00a0:",
		"confirm.already_title": "Déjà confirmé",
		"confirm.already_text":  "Vous avez déjà confirmé. Vous n’avez plus rien à faire.",
		"confirm.expired_title": "Ce lien a expiré",
		"confirm.expired_text":  "Les liens de confirmation ne sont valables que pendant une durée limitée. Pour vous inscrire, remplissez à nouveau le formulaire.",

		"prefs.title":          "Vos préférences",
		"prefs.for":            "Pour %s",
		"prefs.intro":          "Voici tout ce qui vous a été demandé, avec votre réponse actuelle. Vous pouvez retirer chaque consentement d’un clic.",
		"prefs.none":           "Aucun consentement n’est enregistré pour vous.",
		"prefs.withdraw":       "Retirer",
		"prefs.withdraw_all":   "Retirer tous mes consentements",
		"prefs.all_hint":       "Cela retire chaque consentement ci-dessus que vous avez donné ou qui attend votre confirmation.",
		"prefs.withdrawn_one":  "C’est fait\u00a0: vous avez retiré votre consentement à «\u00a0%s\u00a0».",
		"prefs.withdrawn_all":  "C’est fait\u00a0: vous avez retiré tous vos consentements.",
		"prefs.nothing_active": "Vous n’avez aucun consentement actif\u00a0: il n’y a rien à retirer.",
		"state.given":          "Vous avez accepté",
		"state.pending":        "En attente de votre confirmation par e-mail",
		"state.refused":        "Vous avez refusé",
		"state.withdrawn":      "Vous avez retiré votre consentement",
		"state.expired":        "Non confirmé à temps",
		"state.none":           "Pas de réponse",
		"since":                "depuis le %s",

		"error.not_found_title": "Page introuvable",
		"error.not_found_text":  "Ce lien n’est pas valide ou ne fonctionne plus. Vérifiez que vous l’avez copié en entier.",
		"error.internal_title":  "Une erreur s’est produite",
		"error.internal_text":   "Désolés, une erreur s’est produite de notre côté. Réessayez dans quelques minutes.",
		"error.reference":       "Référence\u00a0: %s",
		"error.forbidden_title": "Cette demande a été refusée",
		"error.forbidden_text":  "Pour votre sécurité, ce formulaire ne peut être envoyé que depuis sa propre page. Revenez au formulaire, rechargez-le et envoyez-le à nouveau.",
		"error.rate_title":      "Trop de tentatives",
		"error.rate_text":       "Ce formulaire a été envoyé trop souvent en peu de temps depuis votre connexion. Attendez %d secondes, puis réessayez.",
		"error.bad_title":       "Cette demande n’a pas pu être lue",
		"error.bad_text":        "Revenez à la page précédente et réessayez.",
		"error.back_form":       "Retour au formulaire",
		"error.back_page":       "Retour à la page",
	},
	"nl": {
		"months": "januari februari maart april mei juni juli augustus september oktober november december",
		"date":   "%[1]s %[2]s %[3]d",

		"form.email":       "E-mailadres",
		"form.first_name":  "Voornaam",
		"form.last_name":   "Achternaam",
		"form.optional":    "optioneel",
		"form.required":    "verplicht",
		"form.yes":         "Ja",
		"form.no":          "Nee",
		"form.more_info":   "Meer informatie",
		"form.new_tab":     "(opent in een nieuw tabblad)",
		"form.submit":      "Verzenden",
		"form.withdraw":    "U kunt uw toestemming op elk moment intrekken.",
		"errors.title":     "Er is een probleem",
		"errors.prefix":    "Fout:",
		"errors.page":      "Fout: %s",
		"errors.context":   "%s: ‘%s’",
		"err.email.empty":  "Vul uw e-mailadres in",
		"err.email.format": "Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl",
		"err.first_name":   "Vul uw voornaam in",
		"err.last_name":    "Vul uw achternaam in",
		"err.too_long":     "Dit is te lang: maximaal 100 tekens",
		"err.mandatory":    "U moet dit accepteren om deel te nemen",
		"err.field":        "Controleer dit antwoord",
		"err.form":         "Het formulier kon niet worden verzonden. Laad de pagina opnieuw en probeer het nog eens.",

		"closed.title": "Deze campagne is afgelopen",
		"closed.text":  "Deelnemen is niet meer mogelijk. Bedankt voor uw interesse.",
		"soon.title":   "Dit formulier is nog niet open",
		"soon.text":    "Het opent op %s.",

		"thanks.title":       "Bedankt!",
		"thanks.text":        "Uw antwoorden zijn geregistreerd.",
		"thanks.pending":     "Nog één stap: we hebben u een e-mail gestuurd. Klik op de link erin om uw inschrijving te bevestigen.",
		"thanks.spam":        "Is hij na enkele minuten nog niet aangekomen? Kijk dan in uw spammap.",
		"thanks.preferences": "U kunt uw keuzes op elk moment bekijken en uw toestemming intrekken:",
		"prefs.link":         "Mijn voorkeuren beheren",

		"confirm.title":         "Bevestig uw inschrijving",
		"confirm.text":          "Bevestig dat u akkoord gaat met:",
		"confirm.button":        "Bevestigen",
		"confirm.done_title":    "Bedankt, het is bevestigd",
		"confirm.done_text":     "Uw toestemming is bevestigd voor:",
		"confirm.already_title": "Al bevestigd",
		"confirm.already_text":  "U hebt dit al bevestigd. U hoeft niets meer te doen.",
		"confirm.expired_title": "Deze link is verlopen",
		"confirm.expired_text":  "Bevestigingslinks werken maar een beperkte tijd. Vul het formulier opnieuw in om u in te schrijven.",

		"prefs.title":          "Uw voorkeuren",
		"prefs.for":            "Voor %s",
		"prefs.intro":          "Hier ziet u alles waarvoor u om toestemming werd gevraagd, met uw huidige antwoord. U kunt elke toestemming met één klik intrekken.",
		"prefs.none":           "Er is geen toestemming van u geregistreerd.",
		"prefs.withdraw":       "Intrekken",
		"prefs.withdraw_all":   "Al mijn toestemmingen intrekken",
		"prefs.all_hint":       "Dit trekt elke toestemming hierboven in die u hebt gegeven of die op uw bevestiging wacht.",
		"prefs.withdrawn_one":  "Gedaan: u hebt uw toestemming voor ‘%s’ ingetrokken.",
		"prefs.withdrawn_all":  "Gedaan: u hebt al uw toestemmingen ingetrokken.",
		"prefs.nothing_active": "U hebt geen actieve toestemming: er is niets om in te trekken.",
		"state.given":          "U hebt toegestemd",
		"state.pending":        "Wacht op uw bevestiging per e-mail",
		"state.refused":        "U hebt geweigerd",
		"state.withdrawn":      "U hebt uw toestemming ingetrokken",
		"state.expired":        "Niet op tijd bevestigd",
		"state.none":           "Geen antwoord",
		"since":                "sinds %s",

		"error.not_found_title": "Pagina niet gevonden",
		"error.not_found_text":  "Deze link is niet geldig of werkt niet meer. Controleer of u hem volledig hebt gekopieerd.",
		"error.internal_title":  "Er ging iets mis",
		"error.internal_text":   "Sorry, er ging bij ons iets mis. Probeer het over enkele minuten opnieuw.",
		"error.reference":       "Referentie: %s",
		"error.forbidden_title": "Dit verzoek is geweigerd",
		"error.forbidden_text":  "Voor uw veiligheid kan dit formulier alleen vanaf zijn eigen pagina worden verzonden. Ga terug naar het formulier, laad het opnieuw en verzend het nog eens.",
		"error.rate_title":      "Te veel pogingen",
		"error.rate_text":       "Dit formulier is vanaf uw verbinding te vaak kort na elkaar verzonden. Wacht %d seconden en probeer het dan opnieuw.",
		"error.bad_title":       "Dit verzoek kon niet worden gelezen",
		"error.bad_text":        "Ga terug naar de vorige pagina en probeer het opnieuw.",
		"error.back_form":       "Terug naar het formulier",
		"error.back_page":       "Terug naar de pagina",
	},
	"de": {
		"months": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
		"date":   "%[1]s. %[2]s %[3]d",

		"form.email":       "E-Mail-Adresse",
		"form.first_name":  "Vorname",
		"form.last_name":   "Nachname",
		"form.optional":    "optional",
		"form.required":    "Pflichtangabe",
		"form.yes":         "Ja",
		"form.no":          "Nein",
		"form.more_info":   "Mehr Informationen",
		"form.new_tab":     "(öffnet in einem neuen Tab)",
		"form.submit":      "Absenden",
		"form.withdraw":    "Sie können Ihre Einwilligung jederzeit widerrufen.",
		"errors.title":     "Es gibt ein Problem",
		"errors.prefix":    "Fehler:",
		"errors.page":      "Fehler: %s",
		"errors.context":   "%s: „%s“",
		"err.email.empty":  "Geben Sie Ihre E-Mail-Adresse ein",
		"err.email.format": "Geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de",
		"err.first_name":   "Geben Sie Ihren Vornamen ein",
		"err.last_name":    "Geben Sie Ihren Nachnamen ein",
		"err.too_long":     "Das ist zu lang: höchstens 100 Zeichen",
		"err.mandatory":    "Sie müssen dies akzeptieren, um teilzunehmen",
		"err.field":        "Prüfen Sie diese Antwort",
		"err.form":         "Das Formular konnte nicht gesendet werden. Laden Sie die Seite neu und versuchen Sie es noch einmal.",

		"closed.title": "Diese Aktion ist beendet",
		"closed.text":  "Eine Teilnahme ist nicht mehr möglich. Vielen Dank für Ihr Interesse.",
		"soon.title":   "Dieses Formular ist noch nicht geöffnet",
		"soon.text":    "Es öffnet am %s.",

		"thanks.title":       "Vielen Dank!",
		"thanks.text":        "Ihre Antworten wurden gespeichert.",
		"thanks.pending":     "Noch ein Schritt: Wir haben Ihnen eine E-Mail geschickt. Klicken Sie auf den Link darin, um Ihre Anmeldung zu bestätigen.",
		"thanks.spam":        "Falls sie nach einigen Minuten nicht angekommen ist, sehen Sie in Ihrem Spam-Ordner nach.",
		"thanks.preferences": "Sie können Ihre Auswahl jederzeit ansehen und Ihre Einwilligung widerrufen:",
		"prefs.link":         "Meine Einstellungen verwalten",

		"confirm.title":         "Bestätigen Sie Ihre Anmeldung",
		"confirm.text":          "Bitte bestätigen Sie, dass Sie Folgendem zustimmen:",
		"confirm.button":        "Bestätigen",
		"confirm.done_title":    "Danke, es ist bestätigt",
		"confirm.done_text":     "Ihre Einwilligung ist bestätigt für:",
		"confirm.already_title": "Bereits bestätigt",
		"confirm.already_text":  "Sie haben dies bereits bestätigt. Sie müssen nichts weiter tun.",
		"confirm.expired_title": "Dieser Link ist abgelaufen",
		"confirm.expired_text":  "Bestätigungslinks sind nur begrenzte Zeit gültig. Um sich anzumelden, füllen Sie das Formular bitte erneut aus.",

		"prefs.title":          "Ihre Einstellungen",
		"prefs.for":            "Für %s",
		"prefs.intro":          "Hier sehen Sie alles, wozu Sie um Ihre Einwilligung gebeten wurden, mit Ihrer aktuellen Antwort. Sie können jede Einwilligung mit einem Klick widerrufen.",
		"prefs.none":           "Für Sie ist keine Einwilligung gespeichert.",
		"prefs.withdraw":       "Widerrufen",
		"prefs.withdraw_all":   "Alle meine Einwilligungen widerrufen",
		"prefs.all_hint":       "Damit widerrufen Sie jede Einwilligung oben, die Sie gegeben haben oder die auf Ihre Bestätigung wartet.",
		"prefs.withdrawn_one":  "Erledigt: Sie haben Ihre Einwilligung zu „%s“ widerrufen.",
		"prefs.withdrawn_all":  "Erledigt: Sie haben alle Ihre Einwilligungen widerrufen.",
		"prefs.nothing_active": "Sie haben keine aktive Einwilligung: Es gibt nichts zu widerrufen.",
		"state.given":          "Sie haben zugestimmt",
		"state.pending":        "Wartet auf Ihre Bestätigung per E-Mail",
		"state.refused":        "Sie haben abgelehnt",
		"state.withdrawn":      "Sie haben Ihre Einwilligung widerrufen",
		"state.expired":        "Nicht rechtzeitig bestätigt",
		"state.none":           "Keine Antwort",
		"since":                "seit dem %s",

		"error.not_found_title": "Seite nicht gefunden",
		"error.not_found_text":  "Dieser Link ist ungültig oder funktioniert nicht mehr. Prüfen Sie, ob Sie ihn vollständig kopiert haben.",
		"error.internal_title":  "Etwas ist schiefgelaufen",
		"error.internal_text":   "Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es in einigen Minuten erneut.",
		"error.reference":       "Referenz: %s",
		"error.forbidden_title": "Diese Anfrage wurde abgelehnt",
		"error.forbidden_text":  "Zu Ihrer Sicherheit kann dieses Formular nur von seiner eigenen Seite aus gesendet werden. Gehen Sie zurück zum Formular, laden Sie es neu und senden Sie es erneut.",
		"error.rate_title":      "Zu viele Versuche",
		"error.rate_text":       "Dieses Formular wurde von Ihrer Verbindung aus zu oft in kurzer Zeit gesendet. Bitte warten Sie %d Sekunden und versuchen Sie es dann erneut.",
		"error.bad_title":       "Diese Anfrage konnte nicht gelesen werden",
		"error.bad_text":        "Bitte gehen Sie zur vorherigen Seite zurück und versuchen Sie es erneut.",
		"error.back_form":       "Zurück zum Formular",
		"error.back_page":       "Zurück zur Seite",
	},
}

// locale gives the built-in labels of one page in one language.
type locale struct {
	// Lang is the language of the page, for <html lang>: the campaign's
	// full tag (fr-BE), since the opt-in texts on the page are in it.
	Lang string
	base string
	msgs map[string]string
}

// localeFor returns the labels for a BCP 47 tag, chosen by its language
// base (fr-BE → fr); a language without translations falls back to
// English labels.
func localeFor(tag string) *locale {
	l := &locale{Lang: tag, base: languageBase(tag)}
	if l.Lang == "" {
		l.Lang = "en"
	}
	msgs, ok := messages[l.base]
	if !ok {
		l.base, msgs = "en", messages["en"]
	}
	l.msgs = msgs
	return l
}

// localeOf returns the labels for the visitor's browser languages
// (Accept-Language), for pages that have no campaign to take one from.
func localeOf(r *http.Request) *locale {
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	for _, t := range tags {
		if _, ok := messages[languageBase(t.String())]; ok {
			return localeFor(languageBase(t.String()))
		}
	}
	return localeFor("en")
}

func languageBase(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(base)
}

// T returns the label key, formatted with args when there are any. A key
// missing from every language shows as MISSING(key), for tests to catch.
func (l *locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		if m, ok = messages["en"][key]; !ok {
			return "MISSING(" + key + ")"
		}
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// Date writes the day of t in the language: 5 March 2026, 5 mars 2026.
func (l *locale) Date(t time.Time) string {
	months := strings.Fields(l.T("months"))
	day := fmt.Sprint(t.Day())
	if l.base == "fr" && t.Day() == 1 {
		day = "1er" // le 1er mars
	}
	return fmt.Sprintf(l.T("date"), day, months[t.Month()-1], t.Year())
}
