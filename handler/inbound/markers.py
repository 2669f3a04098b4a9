# Mail markers in other scripts are meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""What mail clients write in front of quoted history, forwards and signatures, by language.

Pattern text (regular-expression alternatives, matched case-insensitively against a line as a
reader sees it) for handler.inbound.trim, which compiles it. The grammar around these words
lives there; the words live here, so that a language is added in one place.
"""

from __future__ import annotations

# Words that open a quote attribution: "On", "Am", "Le", "El", "Il giorno", "Op", "Em",
# "W dniu", "Den", "在" ..., or a date itself ("ons 4 dec. 2024", "пн, 15 янв.", "2022年1月1日").
ATTRIBUTION_LEADS = (
    r"(?:on|at|am|le|el|il|op|em|w dniu|dnia|dne|dňa|den|στις|în|vào)\s"
    r"|(?:在|於)"
    r"|(?:[^\W\d_]{1,4}\.?,?\s+)?\d{1,4}(?:[\s./,\-年]|$)"
)
# Verbs that end an attribution: "... wrote:", "... schrieb:", "... a écrit :".
ATTRIBUTION_VERBS = (
    r"wrote|writes|said|says|schrieb|geschrieben|schrieben sie|a écrit|a ecrit|escribió|"
    r"escribio|ha scritto|schreef|geschreven|escreveu|написал\(а\)|написала|написал|пишет|"
    r"пише|написав\(-?ла\)|написав|napisał\(a\)|napisała|napisał|pisze|napsal\(a\)|"
    r"napsala|napsal|napísal\(a\)|napísala|napísal|skrev|skrifaði|kirjoitti|írta|yazdı|έγραψε|"
    r"a scris|va escriure|đã viết|menulis|kirjutas|rašė|rakstīja|napisao|napisala"
)
# The same for scripts without word boundaries.
ATTRIBUTION_VERBS_CJK = r"写道|寫道|のメッセージ|さんは書きました|작성|님이 작성하였습니다"
# Verbs that clients put before the writer's name: "Am ... schrieb Anna <a@x>:",
# "ons 4 dec. 2024 kl. 20:42 skrev Person B <b@x>:", "Anna <a@x> ezt írta (időpont: ...):".
ATTRIBUTION_VERBS_BEFORE_NAME = (
    r"schrieb|skrev|schreef|napsal|napisał\(a\)|napisał|napísal|"
    r"kirjoitti|írta|escribió|a écrit|ha scritto|escreveu"
)
# Some clients end with an object: "Op 18 juli 2013 10:23 schreef Anna de Vries het volgende:".
ATTRIBUTION_OBJECTS = r"het volgende|folgendes|följande|følgende"

# The labels of an Outlook-style header block ("From:", "Sent:", ...), by field.
HEADER_FIELDS = {
    "from": (
        "from|von|absender|de|expéditeur|remitente|da|mittente|van|afzender|от|від|发件人|"
        "寄件者|寄件人|från|fra|od|odesílatel|lähettäjä|feladó|kimden|보낸 사람|差出人|από|"
        "de la"
    ),
    "date": (
        "sent|date|sent at|gesendet|datum|envoyé|date d'envoi|enviado|enviada|enviado el|"
        "enviada em|fecha|data|inviato|verzonden|verstuurd|отправлено|дата|надіслано|"
        "发送时间|日期|寄件日期|傳送時間|時間|skickat|sendt|dato|odesláno|wysłano|wysłane|"
        "lähetetty|elküldve|küldve|dátum|gönderildi|tarih|보낸 날짜|送信日時|日付|στάλθηκε|"
        "ημερομηνία"
    ),
    "to": (
        "to|an|empfänger|à|a|destinataire|para|destinatario|destinatari|aan|кому|收件人|"
        "收件者|till|til|komu|do|vastaanottaja|címzett|kime|받는 사람|宛先|προς"
    ),
    "cc": "cc|bcc|kopie|копия|копія|抄送|副本|kopia|kopi|kopio|másolat|참조|dw|κοιν",
    "subject": (
        "subject|betreff|objet|sujet|asunto|oggetto|onderwerp|тема|主题|主旨|ämne|emne|"
        "předmět|temat|aihe|tárgy|konu|제목|件名|assunto|θέμα"
    ),
    "reply-to": ("reply-to|reply to|antwort an|répondre à|responder a|rispondi a|beantwoorden"),
}

# The words of an original-message delimiter ("-----Original Message-----").
ORIGINAL_MESSAGE = (
    r"original message|original e-?mail|reply message|ursprüngliche nachricht|originalnachricht|"
    r"message d'origine|message original|mensaje original|messaggio originale|"
    r"mensagem original|oorspronkelijk bericht|origineel bericht|исходное сообщение|"
    r"оригинальное сообщение|原始邮件|原始郵件|元のメッセージ|wiadomość oryginalna|"
    r"oryginalna wiadomość|ursprungligt meddelande|originalmeddelande|oprindelig meddelelse|"
    r"opprinnelig melding|alkuperäinen viesti|původní zpráva|pôvodná správa|eredeti üzenet|"
    r"orijinal mesaj|özgün ileti|원본 메시지|αρχικό μήνυμα|вихідне повідомлення|"
    r"оригінальне повідомлення"
)
# The words of a ruled forward marker ("---------- Forwarded message ---------").
FORWARDED_MESSAGE = (
    r"forwarded message|forwarded e-?mail|weitergeleitete nachricht|message transféré|"
    r"message réexpédié|mensaje reenviado|messaggio inoltrato|mensagem encaminhada|"
    r"mensagem reencaminhada|doorgestuurd bericht|doorgestuurde e-?mail|"
    r"пересылаемое сообщение|пересланное сообщение|переадресованное сообщение|"
    r"przekazana wiadomość|wiadomość przekazana|vidarebefordrat meddelande|"
    r"videresendt meddelelse|videresendt melding|välitetty viesti|přeposlaná zpráva|"
    r"továbbított üzenet|iletilmiş mesaj|已转发邮件|转发的邮件|转发邮件|転送メッセージ|"
    r"転送されたメッセージ|전달된 메시지|προωθημένο μήνυμα|переслане повідомлення"
)
# A forward introduced by a sentence on a line of its own ("Begin forwarded message:").
FORWARD_INTRODUCTIONS = (
    r"begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|début du message transféré|inicio del mensaje reenviado|"
    r"comienzo del mensaje reenviado|inizio messaggio inoltrato|"
    r"início da mensagem reencaminhada|início da mensagem encaminhada|"
    r"begin doorgestuurd bericht|начало переадресованного сообщения|"
    r"转发的邮件开始|以下是转发的邮件|転送されたメッセージ|전달된 메시지"
)

# Words of a mailing list's footer, below a rule.
LIST_FOOTERS = r"mailing list|unsubscribe|listinfo|subscribed to|abmelden|désinscri|darse de baja"

# A mobile client's footer line ("Sent from my iPhone"), each pattern matching the whole line;
# the English "Sent from ..." is in handler.inbound.trim, with its apology.
MOBILE_FOOTERS = (
    r"(?:get|download|obtenir|télécharger|obtener|descargar|obter|baixe|baixar|scarica|"
    r"ottieni|holen sie sich|получить|скачать|pobierz|hämta|hent|获取|下载|取得) ?"
    r"(?:the |o )?outlook (?:app )?(?:for|pour|para|per|für|для|dla|för|til) "
    r"(?:ios|android)",
    r"outlook (?:for|für|voor|pour) (?:ios|android) ?"
    r"(?:herunterladen|downloaden|を入手|の入手)",
    r"(?:von|mit) meine[mr]? .{1,50} gesendet",
    r"gesendet (?:von|mit|vom|über|aus) .{1,50}",
    r"diese nachricht wurde (?:von|mit) .{1,60} gesendet",
    r"envoyé (?:de|depuis|à partir de|avec|par) .{1,50}",
    r"enviad[oa] (?:desde|con|a través de|do|de|a partir do|pelo|pela) .{1,50}",
    r"inviato (?:da|dal|dalla|con|tramite) .{1,50}",
    r"(?:verzonden|verstuurd) (?:vanaf|van|met|via) .{1,50}",
    r"отправлено (?:с|со|из|через) .{1,50}",
    r"надіслано (?:з|із|зі) .{1,50}",
    r"wysłan[eoya] (?:z|ze|przez|za pomocą) .{1,50}",
    r"odesláno (?:z|ze|přes) .{1,50}",
    r"skicka(?:t|des) från .{1,50}",
    r"sendt fra .{1,50}",
    r"lähetetty \S{1,30}(?:sta|stä)",
    r"\S{1,30}(?:ról|ről) küldve",
    r"\S{1,30}(?:dan|den) gönderildi",
    r"στάλθηκε από .{1,50}",
    r"(?:发自|來自|来自|寄自)我的.{1,30}",
    r"(?:从|從)我的.{1,30}(?:发送|傳送|寄出)",
    r"\S{1,30}から送信",
    r"(?:내 )?\S{1,30}에서 보냄",
)
