"""Customer-facing texts per language; English is the fallback for a language we do not have."""
from string import Formatter

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "exception.CUSTOMER_ABSENT": (
            "{company}: we could not deliver your parcel at {address}. Reply 1 to get it on {next_window}, "
            "or choose a neighbour, safe place or pickup point: {link}"
        ),
        "exception.ACCESS_DENIED": (
            "{company}: our driver could not get in at {address}. Add access instructions or choose another option: "
            "{link} (reply 1 to get it on {next_window})"
        ),
        "exception.ADDRESS_PROBLEM": (
            "{company}: we could not find {address}. Please add directions or choose another option: {link} "
            "(reply 1 to get it on {next_window})"
        ),
        "exception.RUNNING_LATE": (
            "{company}: sorry, our driver is running late and will miss your window at {address}. Reply 1 to get it on "
            "{next_window}, or choose a neighbour, safe place or pickup point: {link}"
        ),
        "pre_arrival.arriving": "{company}: our driver arrives in about {minutes} min at {address}. Not home? {link}",
        "pre_arrival.soon": "{company}: your parcel arrives in about {minutes} min. Reply 1 if you are not home. Options: {link}",
        "pre_arrival.push": "Your parcel arrives in about {minutes} min.",
        "pre_arrival.door": "{company}: our driver is at your door. Not home? Choose an option: {link}",
        "pre_arrival.no_answer": "{company}: we have not heard from you. Choose a neighbour, safe place or new time: {link}",
        "reply.confirmed": "{company}: thank you, we noted your choice ({option}).",
        "reply.unknown": "{company}: thank you, a dispatcher will read your message.",
        "reply.ambiguous": "Thank you. More than one company is delivering to you: please answer with the link in their message.",
        "reply.stopped": "You will receive no more messages. Reply START to resume.",
        "reply.started": "{company}: messages are on again. Reply STOP to opt out.",
        "push.title": "Your delivery",
    },
    "nl": {
        "exception.CUSTOMER_ABSENT": (
            "{company}: we konden je pakket niet bezorgen op {address}. Antwoord 1 voor bezorging op {next_window}, "
            "of kies een buur, veilige plek of afhaalpunt: {link}"
        ),
        "exception.ACCESS_DENIED": (
            "{company}: onze bezorger kon niet naar binnen op {address}. Geef toegangsinstructies of kies een andere "
            "optie: {link} (antwoord 1 voor bezorging op {next_window})"
        ),
        "exception.ADDRESS_PROBLEM": (
            "{company}: we konden {address} niet vinden. Geef een routebeschrijving of kies een andere optie: {link} "
            "(antwoord 1 voor bezorging op {next_window})"
        ),
        "exception.RUNNING_LATE": (
            "{company}: sorry, onze bezorger is later en haalt je tijdvak op {address} niet. Antwoord 1 voor bezorging op "
            "{next_window}, of kies een buur, veilige plek of afhaalpunt: {link}"
        ),
        "pre_arrival.arriving": "{company}: onze bezorger is er over ongeveer {minutes} min op {address}. Niet thuis? {link}",
        "pre_arrival.soon": "{company}: je pakket komt over ongeveer {minutes} min. Antwoord 1 als je niet thuis bent. Opties: {link}",
        "pre_arrival.push": "Je pakket komt over ongeveer {minutes} min.",
        "pre_arrival.door": "{company}: onze bezorger staat voor de deur. Niet thuis? Kies een optie: {link}",
        "pre_arrival.no_answer": "{company}: we hebben niets van je gehoord. Kies een buur, veilige plek of nieuwe tijd: {link}",
        "reply.confirmed": "{company}: bedankt, we hebben je keuze genoteerd ({option}).",
        "reply.unknown": "{company}: bedankt, een planner leest je bericht.",
        "reply.ambiguous": "Bedankt. Er bezorgt meer dan één bedrijf bij je: antwoord via de link in hun bericht.",
        "reply.stopped": "Je ontvangt geen berichten meer. Antwoord START om ze weer te ontvangen.",
        "reply.started": "{company}: berichten staan weer aan. Antwoord STOP om je af te melden.",
        "push.title": "Je bezorging",
    },
}

SUPPORTED_LANGUAGES = tuple(TEMPLATES)


def language_of(code: str | None) -> str:
    """The supported language closest to the customer's setting (nl-BE → nl), else English."""
    base = (code or "en").split("-")[0].split("_")[0].lower()
    return base if base in TEMPLATES else "en"


def has_template(key: str) -> bool:
    return key in TEMPLATES["en"]


def render(key: str, language: str | None, **values: object) -> str:
    """The text for `key` in the customer's language with the values filled in."""
    template = TEMPLATES[language_of(language)].get(key) or TEMPLATES["en"][key]
    needed = {name for _, name, _, _ in Formatter().parse(template) if name}
    return template.format(**{name: values.get(name, "") for name in needed})
