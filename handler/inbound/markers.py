# Mail markers in other scripts are meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""What mail clients write in front of quoted history, forwards and signatures, by language.

Pattern text (regular-expression alternatives, matched case-insensitively against a line as a
reader sees it) for handler.inbound.trim, which compiles it. The grammar around these words
lives there; the words live here, so that a language is added in one place.
"""

from __future__ import annotations

# Words that open a quote attribution: "On", "Am", "Le", "El", "Il giorno", "Op", "Em",
# "W dniu", "Den", "Pe", "Στις", "Vào", "Pada", "בתאריך", "في", "เมื่อ", "在" ..., mail.ru's full
# Russian weekday, or a date itself ("ons 4 dec. 2024", "пн, 15 янв.", "2022年1月1日").
ATTRIBUTION_LEADS = (
    r"(?:on|at|am|le|el|il|op|em|no dia|o|w dniu|dnia|dne|dňa|dana|den|þann|på|pe|v|на|στις|"
    r"în|vào|pada|noong|më|ar|في|على|در|בתאריך|เมื่อ)\s"
    r"|(?:在|於|ב-|ב־)"
    r"|(?:понедельник|вторник|среда|четверг|пятница|суббота|воскресенье),\s"
    r"|(?:[^\W\d_]{1,4}\.?,?\s+)?\d{1,4}(?:[\s./,\-年년]|$)"
)
# Verbs that end an attribution: "... wrote:", "... schrieb:", "... a écrit :", "... napisao je:".
ATTRIBUTION_VERBS = (
    r"wrote|writes|said|says|schrieb|geschrieben|schrieben sie|a écrit|a ecrit|escribió|"
    r"escribio|escribiu|ha scritto|schreef|geschreven|geskryf|escreveu|написал\(-?а\)|написала|"
    r"написал|напісаў\(ла\)|напісала|напісаў|"
    r"пишет|пише|написав\(-?ла\)|написав|написа|написао/ла|написао\(ла\)|написао|"
    r"napisał\(a\)|napisała|napisał|pisze|napsal\(a\)|napsala|napsal|napísal\(a\)|napísala|"
    r"napísal|napisal\(a\)|napisal|napisao/la|napisao\(la\)|napisao je|napisala je|napisao|"
    r"napisala|напиша|skrev|skreiv|skreau|shkroi|ysgrifennodd|skrifaði|kirjoitti|írta|yazdı|"
    r"έγραψε|a scris|va escriure|ha escrit|"
    r"đã viết|menulis|kirjutas|rašė|rakstīja|idatzi zuen|idatzi du|כתב/ה|כתב\(ה\)|כתבה|כתב|"
    r"aliandika|كتب|نوشت|لکھا|लिखा|লিখেছেন"
)
# The same for scripts without word boundaries.
ATTRIBUTION_VERBS_CJK = (
    r"写道|寫道|のメッセージ|さんは書きました|작성|님이 작성하였습니다|쓴 글|เขียนว่า|เขียน"
)
# Verbs that clients put before the writer's name, or between an address and a date:
# "Am ... schrieb Anna <a@x>:", "ons 4 dec. 2024 kl. 20:42 skrev Person B <b@x>:",
# "Anna <a@x> ezt írta (időpont: ...):", "Anna <a@x> a scris (lun., ...):". Only scripts with
# letter case: the name after the verb is told from the rest of a sentence by its capitals.
ATTRIBUTION_VERBS_BEFORE_NAME = (
    r"schrieb|skrev|skreiv|skreau|ysgrifennodd|skrifaði|schreef|napsal|napisał\(a\)|napisał|napísal|"
    r"kirjoitti|írta|escribió|a écrit|ha scritto|escreveu|a scris|idatzi zuen|idatzi du"
)
# The same in scripts without letter case: Thunderbird in Arabic, "على ..., كتب سارة علي:".
ATTRIBUTION_VERBS_BEFORE_NAME_UNCASED = r"كتب"
# Some clients end with an object: "Op 18 juli 2013 10:23 schreef Anna de Vries het volgende:".
ATTRIBUTION_OBJECTS = r"het volgende|folgendes|följande|følgende"

# The labels of an Outlook-style header block ("From:", "Sent:", ...), by field, as Outlook
# (desktop, web, mobile), Thunderbird's forward table and the webmails write them.
HEADER_FIELDS = {
    "from": (
        "from|von|absender|de|expéditeur|remitente|da|mittente|van|afzender|от|від|发件人|"
        "寄件者|寄件人|från|fra|frá|od|odesílatel|lähettäjä|feladó|kimden|보낸 사람|差出人|από|"
        "de la|šalje|од|пошиљалац|od koga|nuo|no|saatja|nork|מאת|من|از|प्रेषक|จาก|từ|dari|daripada|"
        "kimdən|발신"
    ),
    "date": (
        "sent|date|sent at|gesendet|datum|envoyé|date d'envoi|enviado|enviada|enviado el|"
        "enviada em|fecha|data|inviato|verzonden|verstuurd|отправлено|дата|надіслано|"
        "发送时间|日期|寄件日期|傳送時間|時間|skickat|sendt|dato|odesláno|odoslané|wysłano|wysłane|"
        "lähetetty|päivämäärä|elküldve|küldve|dátum|gönderildi|gönderilme tarihi|tarih|보낸 날짜|"
        "送信日時|日付|στάλθηκε|ημερομηνία|trimis|poslano|poslato|послато|изпратено|saadetud|"
        "kuupäev|nosūtīts|datums|išsiųsta|enviat|noiz|נשלח|תאריך|تم الإرسال|أرسل|التاريخ|"
        "ارسال شده|ارسالشده|تاریخ|भेजा गया|दिनांक|ส่ง|วันที่|đã gửi|ngày|dikirim|tanggal|"
        "dihantar|tarikh|göndərildi|날짜"
    ),
    "to": (
        "to|an|empfänger|à|a|destinataire|para|destinatario|destinatari|aan|кому|收件人|"
        "收件者|till|til|komu|do|vastaanottaja|címzett|kime|받는 사람|宛先|προς|către|prima|za|"
        "за|до|kam|adressaat|nori|per a|אל|إلى|به|प्रति|ถึง|đến|kepada|kimə|수신"
    ),
    "cc": (
        "cc|bcc|kopie|копия|копія|抄送|副本|kopia|kopi|kopio|másolat|másolatot kap|참조|dw|κοιν|"
        "kópia|kopija|копие|копија|kp|afrit|koopia|עותק|نسخة|رونوشت|प्रतिलिपि|สำเนาถึง|sk"
    ),
    "subject": (
        "subject|betreff|objet|sujet|asunto|oggetto|onderwerp|тема|主题|主旨|ämne|emne|efni|"
        "předmět|predmet|temat|aihe|tárgy|konu|제목|件名|assunto|θέμα|subiect|tema|zadeva|"
        "относно|teema|tēma|assumpte|gaia|נושא|الموضوع|موضوع|विषय|เรื่อง|chủ đề|perihal|subjek|"
        "mövzu"
    ),
    "reply-to": ("reply-to|reply to|antwort an|répondre à|responder a|rispondi a|beantwoorden"),
}
# The date labels that are a form's words too ("Date:", "Datum:"), unlike "Sent:", "Gesendet:",
# which only a mail client writes.
HEADER_PLAIN_DATES = (
    "date|datum|data|fecha|дата|日期|時間|dato|dátum|tarih|日付|ημερομηνία|kuupäev|datums|"
    "päivämäärä|תאריך|التاريخ|تاریخ|दिनांक|วันที่|ngày|tanggal|tarikh|날짜"
)

# The words of an original-message delimiter ("-----Original Message-----", Thunderbird's
# "-------- Original-Nachricht --------").
ORIGINAL_MESSAGE = (
    r"original message|original e-?mail|reply message|ursprüngliche nachricht|originalnachricht|"
    r"original-nachricht|message d'origine|message original|mensaje original|"
    r"messaggio originale|mensagem original|oorspronkelijk bericht|origineel bericht|"
    r"исходное сообщение|оригинальное сообщение|原始邮件|原始郵件|元のメッセージ|"
    r"wiadomość oryginalna|oryginalna wiadomość|ursprungligt meddelande|originalmeddelande|"
    r"oprindelig meddelelse|oprindelig besked|opprinnelig melding|"
    r"alkuperäinen viesti(?: / orig\.msg\.)?|"
    r"upprunaleg skilaboð|původní zpráva|pôvodná správa|eredeti üzenet|orijinal mesaj|"
    r"özgün ileti|원본 메시지|αρχικό μήνυμα|вихідне повідомлення|оригінальне повідомлення|"
    r"mesaj original|mesajul original|izvorna poruka|originalna poruka|оригинална порука|"
    r"izvirno sporočilo|izvorno sporočilo|оригинално съобщение|הודעה מקורית|"
    r"الرسالة الأصلية|الرسالة الأصليَّة|پیام اصلی|मूल संदेश|ข้อความต้นฉบับ|thư gốc|"
    r"tin nhắn gốc|pesan asli|mesej asal|algsõnum|algne sõnum|sākotnējais ziņojums|"
    r"oriģinālais ziņojums|pradinis pranešimas|originalus laiškas|missatge original|"
    r"jatorrizko mezua|mensaxe orixinal|"
    # Webmails' own words: Seznam, Zimbra (German, French), NetEase's "Replied Message", Samsung.
    r"původní e-mail|ursprüngliche mail|mail original|replied message|원본 이메일"
)
# The words of a ruled forward marker ("---------- Forwarded message ---------").
FORWARDED_MESSAGE = (
    r"forwarded message|forwarded e-?mail|weitergeleitete nachricht|message transféré|"
    r"message réexpédié|mensaje reenviado|messaggio inoltrato|mensagem encaminhada|"
    r"mensagem reencaminhada|doorgestuurd bericht|doorgestuurde e-?mail|"
    r"пересылаемое сообщение|пересланное сообщение|переадресованное сообщение|"
    r"перенаправленное сообщение|przekazana wiadomość|wiadomość przekazana(?: dalej)?|"
    r"vidarebefordrat meddelande|videresendt meddelelse|videresendt melding|"
    r"välitetty viesti(?: / fwd\.msg)?|framsend skilaboð|áframsent bréf|přeposlaná zpráva|"
    r"preposlaná správa|továbbított üzenet|iletilmiş mesaj|iletilen ileti|iletilen mesaj|"
    r"yönlendirilen ileti|已转发邮件|转发的邮件|转发邮件|轉寄的郵件|已轉寄郵件|轉寄郵件|"
    r"転送メッセージ|転送されたメッセージ|전달된 메시지|전달된 메일|προωθημένο μήνυμα|"
    r"переслане повідомлення|пересланий лист|mesaj redirecționat|mesaj redirecţionat|"
    r"mesaj transmis|proslijeđena poruka|prosleđena poruka|прослеђена порука|"
    r"posredovano sporočilo|препратено съобщение|препратено писмо|הודעה שהועברה|"
    r"رسالة معاد توجيهها|رسالة ممررة|رسالة ممرّرة|رسالة محولة|پیام هدایت شده|"
    r"پیام بازارسال شده|अग्रेषित संदेश|ข้อความที่ส่งต่อ|thư đã chuyển tiếp|"
    r"thư được chuyển tiếp|tin nhắn được chuyển tiếp|pesan terusan|pesan yang diteruskan|"
    r"mesej dimajukan|edastatud kiri|edasi saadetud kiri|pārsūtīts ziņojums|pārsūtītā ziņa|"
    r"persiųstas laiškas|persiųstas pranešimas|missatge reenviat|birbidalitako mezua|"
    r"mensaxe reenviada"
)
# A forward introduced by a sentence on a line of its own ("Begin forwarded message:", as
# Apple Mail writes it in each language).
FORWARD_INTRODUCTIONS = (
    r"begin forwarded message|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|début du message transféré|inicio del mensaje reenviado|"
    r"comienzo del mensaje reenviado|inizio messaggio inoltrato|"
    r"início da mensagem reencaminhada|início da mensagem encaminhada|"
    r"begin doorgestuurd bericht|vidarebefordrat mejl|start på videresendt (?:besked|melding)|"
    r"videresendt melding|välitetty viesti alkaa|upphaf áframsends bréfs|"
    r"początek przekazywanej wiadomości|začátek přeposílané zprávy|"
    r"začiatok preposlanej správy|továbbított levél kezdete|"
    r"începutul mesajului redirecționat|început mesaj redirecționat|"
    r"početak proslijeđene poruke|početak prosleđene poruke|почетак прослеђене поруке|"
    r"začetek posredovanega sporočila|начало на препратеното съобщение|"
    r"начало переадресованного сообщения|початок пересланого листа|"
    r"початок переадресованого повідомлення|αρχή προωθημένου μηνύματος|"
    r"iletilen mesajın başlangıcı|תחילת הודעה שהועברה|بداية الرسالة المعاد توجيهها|"
    r"بداية الرسالة المُعاد توجيهها|شروع پیام بازارسال شده|अग्रेषित संदेश प्रारंभ|"
    r"เริ่มข้อความที่ส่งต่อ|bắt đầu tin nhắn được chuyển tiếp|awal pesan yang diteruskan|"
    r"mesej dimajukan bermula|edasisaadetud kirja algus|pārsūtītā ziņojuma sākums|"
    r"persiųsto laiško pradžia|inici del missatge reenviat|"
    r"转发的邮件开始|以下是转发的邮件|以下为转发的邮件|以下為轉寄的郵件|轉寄的郵件|"
    r"転送されたメッセージ|전달된 메시지|전달된 메일"
)

# Words of a mailing list's footer, below a rule.
LIST_FOOTERS = (
    r"mailing list|unsubscribe|listinfo|subscribed to|abmelden|abbestellen|désinscri|"
    r"désabonner|darse de baja|cancelar (?:la )?suscripción|disiscriviti|afmelden|uitschrijven|"
    r"отписаться|wypisz się"
)
# What names the list in such a footer, beside a link or an address.
LIST_WORDS = r"list|liste|lista|listinfo|mailman|рассылк|розсил|メーリングリスト|邮件列表"

# Verbs of "Get Outlook for iOS" in the languages Outlook mobile writes it in.
_GET_OUTLOOK = (
    r"get|download|obtenir|télécharger|obtener|descargar|descarga|obter|obtenha|baixe|baixar|"
    r"scarica|ottieni|holen sie sich|beziehen|herunterladen|downloaden|получить|скачать|"
    r"pobierz|hämta|hent|få|hanki|stáhnout|stáhněte si|stiahnite si|stiahnuť|töltse le|"
    r"descărcați|preuzmite|nabavite|изтеглете|завантажте|отримати|λήψη|edinin|indirin|"
    r"הורד|احصل على|دریافت|प्राप्त करें|ดาวน์โหลด|tải|dapatkan|muat turun|laadi alla|"
    r"lejupielādēt|atsisiųskite|obteniu|baixa|deskargatu|获取|下载|取得|下載|を入手|の入手|다운로드|받기"
)
# A mobile client's footer line ("Sent from my iPhone"), each pattern matching the whole line;
# the English "Sent from ..." is in handler.inbound.trim, with its apology. A footer also names
# the writer's own device ("my", "mein", "我的") or a device or mail app (MOBILE_DEVICES):
# "Gesendet mit DHL", "Envoyé par Colissimo" and "Enviado do escritório" are the author's.
MOBILE_FOOTERS = (
    # "Get Outlook for iOS", "Outlook für iOS beziehen", "iOS 版 Outlook を入手": a short line
    # naming Outlook and the platform, with the verb somewhere.
    rf"(?=.{{0,80}}$)(?=.*outlook)(?=.*(?:ios|android))(?=.*(?<!\w)(?:{_GET_OUTLOOK})(?!\w))"
    r"\S{1,20}(?: \S{1,20}){1,7}",
    r"(?:von|mit) meine[mr]? .{1,50} gesendet",
    r"gesendet (?:von|mit|vom|über|aus) .{1,50}",
    r"diese nachricht wurde (?:von|mit) .{1,60} gesendet",
    r"envoyé (?:de|depuis|à partir de|avec|par) .{1,50}",
    r"enviad[oa] (?:desde|con|a través de|do|de|a partir do|pelo|pela) .{1,50}",
    r"enviat (?:des de|des del|amb|per) .{1,50}",
    r"inviato (?:da|dal|dalla|con|tramite) .{1,50}",
    r"(?:verzonden|verstuurd) (?:vanaf|van|met|via) .{1,50}",
    r"отправлено (?:с|со|из|через) .{1,50}",
    r"надіслано (?:з|із|зі) .{1,50}",
    r"wysłan[eoya] (?:z|ze|przez|za pomocą) .{1,50}",
    r"odesláno (?:z|ze|přes) .{1,50}",
    r"odoslané (?:z|zo|cez) .{1,50}",
    r"skicka(?:t|des) från .{1,50}",
    r"sendt fra .{1,50}",
    r"sent úr .{1,50}",
    r"lähetetty (?:\S{1,20} ){0,3}\S{1,30}(?:sta|stä)",
    r"(?:\S{1,20} ){0,2}\S{1,30}(?:ról|ről) küldve",
    r"küldve (?:\S{1,20} ){0,3}\S{1,30}(?:ról|ről)",
    # Turkish: "iPhone'umdan gönderildi", from *my* device ("-m-dan"), not from a place.
    r"(?:\S{1,20} ){0,3}\S{1,30}m(?:dan|den|tan|ten) gönderildi",
    r"trimis (?:de pe|de la|din|cu|prin) .{1,50}",
    r"(?:poslano|poslato|послато|послано) (?:s|sa|iz|z|preko|са|из|с) .{1,50}",
    r"изпратено от .{1,50}",
    r"στάλθηκε από .{1,50}",
    r"נשלח מ\S.{0,50}",
    r"(?:أُرسلت|أرسلت|أُرسل|أرسل|مرسل|تم الإرسال|تم إرسالها) (?:من|باستخدام) .{1,50}",
    r"ارسال ?شده (?:از|با) .{1,50}",
    r"मेरे .{1,50} से भेजा गया",
    r"ส่งจาก ?(?:iphone|ipad|android|.{1,40}ของฉัน).{0,40}",
    r"(?:được )?gửi từ .{1,50}",
    r"(?:dikirim|dihantar) (?:dari|daripada|dengan|menggunakan) .{1,50}",
    r"saadetud (?:minu )?\S{1,30}(?:ist|st|lt)",
    r"(?:nosūtīts|sūtīts) (?:no|ar) .{1,50}",
    r"išsiųsta (?:iš|su|naudojant) .{1,50}",
    r"(?:nire )?\S{1,30}tik bidali(?:a|tako mezua)?",
    r"(?:发自|來自|来自|寄自)我的.{1,30}",
    r"(?:从|從)我的.{1,30}(?:发送|傳送|寄出)",
    r"\S{1,30}から送信",
    r"(?:\S{1,20} ){0,2}\S{1,30}에서 보냄",
)
# "My" in a footer, as a whole word ("Enviado desde mi iPhone", "Изпратено от моя iPhone").
MOBILE_OWNERS = (
    r"my|mein|meinem|meiner|mon|ma|mi|meu|minha|mio|mia|mijn|min|mitt|minu|mano|mana|nire|"
    r"mój|mojego|mojej|mého|mém|môjho|mog|mojega|mojeg|moga|моего|моей|мой|моя|мого|мій|моја|"
    r"мог|мога|моят|моята|μου|שלי|saya|của tôi|내"
)
# A device or mail app in a footer, inside a word ("iPhonu", "BlueMail", "Mobiltelefon").
MOBILE_DEVICES = (
    r"iphon|ipad|ipod|android|galaxy|samsung|huawei|xiaomi|blackberry|nokia|motorola|"
    r"oneplus|outlook|mail|correo|courriel|yahoo|yandex|почт|smartphone|smartfon|смартфон|"
    r"handy|mobil|мобил|мобіл|phone|telefon|teléfono|telefone|telefono|téléphone|телефон|"
    r"appareil|dispositivo|device|gerät|apparaat|toestel|urządzeni|zařízení|zariaden|"
    r"устройств|пристро|tablet|планшет|windows|thunderbird|spark|superhuman|airmail|"
    r"typeapp|k-9|جهاز|هاتف|جوال|טלפון|מכשיר|گوشی|फ़ोन|फोन|मोबाइल|โทรศัพท์|"
    r"điện thoại|ponsel|κινητό|συσκευή|我的|手机|手機|携帯|スマートフォン|갤럭시|스마트폰|아이폰|"
    r"휴대폰|모바일|태블릿"
)
