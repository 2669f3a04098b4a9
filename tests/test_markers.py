# Mail in other scripts is meant to hold Cyrillic, Greek and full-width letters.
# ruff: noqa: RUF001
"""The language words of trim: each language's attribution, header block, delimiter, forward
marker and mobile footer is recognised, and ordinary prose in those languages is not cut."""

from __future__ import annotations

import pytest

from handler.inbound.trim import Block, BlockKind, trim_reply

ANNA = "Anna Andersson <anna@example.com>"

# Quote attributions as each client writes them, by language and client.
ATTRIBUTIONS = {
    "pt-PT gmail": f"{ANNA} escreveu (segunda, 15/01/2025 à(s) 17:03):",
    "pt apple": f"Em 15 de jan. de 2025, à(s) 17:03, {ANNA} escreveu:",
    "pt-PT apple": f"No dia 15/01/2025, às 17:03, {ANNA} escreveu:",
    "es apple": f"El 15 ene 2025, a las 17:03, {ANNA} escribió:",
    "it apple": f"Il giorno 15 gen 2025, alle ore 17:03, {ANNA} ha scritto:",
    "da gmail": f"man. 15. jan. 2025 kl. 17.03 skrev {ANNA}:",
    "da thunderbird": "Den 15.01.2025 kl. 17.03 skrev Anna Andersson:",
    "nb thunderbird": "Den 15.01.2025 17:03, skrev Anna Andersson:",
    "is gmail": f"mán., 15. jan. 2025 kl. 17:03 skrifaði {ANNA}:",
    "is apple": f"Þann 15. jan. 2025, kl. 17:03, skrifaði {ANNA}:",
    "fi apple": f"{ANNA} kirjoitti 15.1.2025 kello 17.03:",
    "cs gmail": f"po 15. 1. 2025 v 17:03 odesílatel {ANNA} napsal:",
    "sk gmail": f"po 15. 1. 2025 o 17:03 {ANNA} napísal(a):",
    "sk thunderbird": "Dňa 15. 1. 2025 o 17:03 Anna Andersson napísal(a):",
    "hu apple": f"2025. jan. 15. dátummal, 17:03 időpontban {ANNA} írta:",
    "hu thunderbird": "2025. 01. 15. 17:03 keltezéssel, Anna Andersson írta:",
    "ro gmail": f"{ANNA} a scris (lun., 15 ian. 2025, 17:03):",
    "ro apple": f"Pe 15 ian. 2025, la 17:03, {ANNA} a scris:",
    "ro thunderbird": "Pe 15.01.2025 17:03, Anna Andersson a scris:",
    "hr gmail": f"pon, 15. sij 2025. u 17:03 {ANNA} napisao je:",
    "hr apple": f"15. sij 2025. u 17:03, {ANNA} je napisao/la:",
    "sr gmail": f"пон, 15. јан 2025. у 17:03 {ANNA} је написао/ла:",
    "sr-Latn gmail": f"pon, 15. jan 2025. u 17:03 {ANNA} je napisao/la:",
    "bs gmail": f"pon, 15. jan 2025. u 17:03 {ANNA} je napisao(la):",
    "sl gmail": f"V pon., 15. jan. 2025 ob 17:03 je oseba {ANNA} napisala:",
    "sl thunderbird": "Dne 15. 01. 2025 ob 17:03 je Anna Andersson napisal(a):",
    "bg gmail": f"пн, 15.01.2025 г. в 17:03 ч. {ANNA} написа:",
    "bg thunderbird": "На 15.01.2025 г. 17:03, Anna Andersson написа:",
    "ru mail.ru": f"Понедельник, 15 января 2025, 17:03 +03:00 от {ANNA}:",
    "ru yandex": '15.01.2025, 17:03, "Anna Andersson" <anna@example.com>:',
    "uk thunderbird": "15.01.25 17:03, Anna Andersson пише:",
    "uk apple": f"15 січ. 2025 р. о 17:03 {ANNA} написав(-ла):",
    "el thunderbird": "Στις 15/1/2025 5:03 μ.μ., ο/η Anna Andersson έγραψε:",
    "tr apple": f"15 Oca 2025 tarihinde 17:03 saatinde, {ANNA} şunları yazdı:",
    "tr thunderbird": "15.01.2025 17:03 tarihinde Anna Andersson yazdı:",
    "he gmail": f"בתאריך יום ב׳, 15 בינו׳ 2025 ב-17:03 מאת {ANNA}:",
    "he thunderbird": "בתאריך 15/01/2025 17:03, Anna Andersson כתב:",
    "he apple": f"ב-15 בינו׳ 2025, בשעה 17:03, {ANNA} כתב/ה:",
    "ar gmail": f"في الاثنين، 15 يناير 2025 في 5:03 م تمت كتابة ما يلي بواسطة {ANNA}:",
    "ar apple": f"في 15 يناير 2025، الساعة 17:03، كتب {ANNA}:",
    "fa gmail": f"در تاریخ دوشنبه ۱۵ ژانویهٔ ۲۰۲۵ ساعت ۱۷:۰۳ {ANNA} نوشت:",
    "fa thunderbird": "در 15/01/2025 17:03، Anna Andersson نوشت:",
    "hi gmail": f"सोम, 15 जन॰ 2025 को 5:03 pm बजे {ANNA} ने लिखा:",
    "th gmail": f"เมื่อ จ. 15 ม.ค. 2025 เวลา 17:03 {ANNA} เขียนว่า:",
    "th apple": f"เมื่อ 15 ม.ค. 2568 เวลา 17:03 {ANNA} เขียนว่า:",
    "vi gmail": f"Vào Th 2, 15 thg 1, 2025 vào lúc 17:03 {ANNA} đã viết:",
    "id gmail": f"Pada tanggal Sen, 15 Jan 2025 pukul 17.03 {ANNA} menulis:",
    "ms gmail": f"Pada Isn, 15 Jan 2025 pada 5:03 PTG {ANNA} menulis:",
    "zh apple": f"2025年1月15日 17:03，{ANNA} 写道：",
    "zh-TW gmail": f"{ANNA} 於 2025年1月15日 週三 下午5:03寫道：",
    "ko apple": f"2025. 1. 15. 오후 5:03, {ANNA} 작성:",
    "ko thunderbird": "2025-01-15 오후 5:03에 Anna Andersson 이(가) 쓴 글:",
    "et gmail": f"E, 15. jaanuar 2025 kell 17:03 {ANNA} kirjutas:",
    "lv gmail": (
        "pirmd., 2025. g. 15. janv., plkst. 17:03 — lietotājs Anna Andersson "
        "(<anna@example.com>) rakstīja:"
    ),
    "lt gmail": f"2025-01-15, pr, 17:03 {ANNA} rašė:",
    "ca gmail": (
        "El dl., 15 de gen. 2025 a les 17:03, Anna Andersson (<anna@example.com>) va escriure:"
    ),
    "ca thunderbird": "El 15/01/2025 a les 17:03, Anna Andersson ha escrit:",
    "eu gmail": (
        "Anna Andersson (<anna@example.com>) erabiltzaileak hau idatzi zuen "
        "(2025 urt. 15 (al.) 17:03):"
    ),
    "gl gmail": (
        "O lun., 15 de xan. de 2025 ás 17:03, Anna Andersson (<anna@example.com>) escribiu:"
    ),
    "nn thunderbird": "Den 15.01.2025 17:03, Anna Andersson skreiv:",
    "fy thunderbird": "Op 15-01-2025 om 17:03 skreau Anna Andersson:",
    "sq thunderbird": "Më 15.01.2025 17:03, Anna Andersson shkroi:",
    "cy thunderbird": "Ar 15/01/2025 17:03, ysgrifennodd Anna Andersson:",
    "be thunderbird": "15.01.2025 у 17:03 Анна Андэрсан напісаў:",
    "ru yahoo": f"среда, 15 января 2025 г. в 17:03:00 GMT+3, {ANNA} написал(-а):",
    "af gmail": f"Op Wo. 15 Jan. 2025 om 17:03 het {ANNA} geskryf:",
    "mk gmail": f"сре, 15 јан. 2025 во 17:03 {ANNA} напиша:",
    "sw gmail": f"Mnamo Jumatano, 15 Jan 2025 saa 17:03 {ANNA} aliandika:",
    "ur gmail": f"بدھ، 15 جنوری، 2025 کو 5:03 PM بجے {ANNA} نے لکھا:",
    "bn gmail": f"বুধ, ১৫ জানু, ২০২৫ এ ৫:০৩ PM এ {ANNA} লিখেছেন:",
    "tl gmail": f"Noong Miy, Ene 15, 2025 nang 5:03 PM, sumulat si {ANNA}:",
    "ko gmail": f"2025년 1월 15일 (수) 오후 5:03, {ANNA}님이 작성:",
}


@pytest.mark.parametrize("line", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_attribution_and_its_quote_are_history(line: str):
    """Each language's attribution line and the quote below it are trimmed."""
    reply = trim_reply(f"New text.\n\n{line}\n> old text\n")
    assert (reply.body, reply.trimmed) == ("New text.", f"{line}\n> old text")


@pytest.mark.parametrize("line", ATTRIBUTIONS.values(), ids=ATTRIBUTIONS.keys())
def test_attribution_starts_unquoted_history(line: str):
    """Each dated attribution starts history even when the old text below is not quoted."""
    assert trim_reply(f"New text.\n\n{line}\n\nold text\n").body == "New text."


# Outlook's header block labels (From, Sent, To, Subject) and a date as it writes it.
BLOCKS = {
    "pt-BR": ("De", "Enviada em", "segunda-feira, 15 de janeiro de 2025 17:03", "Para", "Assunto"),
    "sv": ("Från", "Skickat", "den 15 januari 2025 17:03", "Till", "Ämne"),
    "nb": ("Fra", "Sendt", "mandag 15. januar 2025 17:03", "Til", "Emne"),
    "fi": ("Lähettäjä", "Lähetetty", "15. tammikuuta 2025 17.03", "Vastaanottaja", "Aihe"),
    "is": ("Frá", "Sent", "15. janúar 2025 17:03", "Til", "Efni"),
    "pl": ("Od", "Wysłano", "poniedziałek, 15 stycznia 2025 17:03", "Do", "Temat"),
    "sk": ("Od", "Odoslané", "pondelok 15. januára 2025 17:03", "Komu", "Predmet"),
    "hu": ("Feladó", "Elküldve", "2025. január 15., szerda 17:03", "Címzett", "Tárgy"),
    "ro": ("De la", "Trimis", "luni, 15 ianuarie 2025 17:03", "Către", "Subiect"),
    "hr": ("Šalje", "Poslano", "ponedjeljak, 15. siječnja 2025. 17:03", "Prima", "Predmet"),
    "sr": ("Од", "Послато", "понедељак, 15. јануар 2025. 17:03", "За", "Тема"),
    "sr-Latn": ("Od", "Poslato", "ponedeljak, 15. januar 2025. 17:03", "Za", "Tema"),
    "sl": ("Od", "Poslano", "ponedeljek, 15. januar 2025 17:03", "Za", "Zadeva"),
    "bg": ("От", "Изпратено", "понеделник, 15 януари 2025 г. 17:03", "До", "Относно"),
    "uk": ("Від", "Надіслано", "понеділок, 15 січня 2025 р. 17:03", "Кому", "Тема"),
    "el": ("Από", "Στάλθηκε", "Δευτέρα, 15 Ιανουαρίου 2025 5:03 μ.μ.", "Προς", "Θέμα"),
    "tr": ("Kimden", "Gönderildi", "15 Ocak 2025 Pazartesi 17:03", "Kime", "Konu"),
    "he": ("מאת", "נשלח", "יום שני 15 ינואר 2025 17:03", "אל", "נושא"),
    "ar": ("من", "تم الإرسال", "الاثنين، 15 يناير 2025 05:03 م", "إلى", "الموضوع"),
    "fa": ("از", "ارسال شده", "دوشنبه، ۱۵ ژانویه ۲۰۲۵ ۱۷:۰۳", "به", "موضوع"),
    "hi": ("प्रेषक", "भेजा गया", "सोमवार, 15 जनवरी 2025 5:03 PM", "प्रति", "विषय"),
    "th": ("จาก", "ส่ง", "วันจันทร์ที่ 15 มกราคม 2025 17:03", "ถึง", "เรื่อง"),
    "vi": ("Từ", "Đã gửi", "Thứ Hai, ngày 15 tháng 1 năm 2025 17:03", "Đến", "Chủ đề"),
    "id": ("Dari", "Dikirim", "Senin, 15 Januari 2025 17.03", "Kepada", "Perihal"),
    "ms": ("Daripada", "Dihantar", "Isnin, 15 Januari 2025 5:03 PTG", "Kepada", "Subjek"),
    "zh-TW": ("寄件者", "寄件日期", "2025年1月15日 下午 05:03", "收件者", "主旨"),
    "ko": ("보낸 사람", "보낸 날짜", "2025년 1월 15일 수요일 오후 5:03", "받는 사람", "제목"),
    "et": ("Saatja", "Saadetud", "esmaspäev, 15. jaanuar 2025 17:03", "Adressaat", "Teema"),
    "lv": ("No", "Nosūtīts", "pirmdiena, 2025. gada 15. janvāris 17:03", "Kam", "Tēma"),
    "lt": ("Nuo", "Išsiųsta", "2025 m. sausio 15 d. 17:03", "Kam", "Tema"),
    "ca": ("De", "Enviat", "dilluns, 15 de gener de 2025 17:03", "Per a", "Assumpte"),
    "eu": ("Nork", "Noiz", "2025(e)ko urtarrilaren 15(a) 17:03", "Nori", "Gaia"),
    "gl": ("De", "Enviado", "luns, 15 de xaneiro de 2025 17:03", "Para", "Asunto"),
    "az": ("Kimdən", "Göndərildi", "15 yanvar 2025 17:03", "Kimə", "Mövzu"),
    "ko samsung": ("발신", "날짜", "25/1/15 오후 5:03 (GMT+09:00)", "수신", "제목"),
}


@pytest.mark.parametrize("labels", BLOCKS.values(), ids=BLOCKS.keys())
def test_outlook_header_block_is_history(labels: tuple[str, str, str, str, str]):
    """Each language's Outlook header block, and the old mail below it, are trimmed."""
    sender, sent, date, to, subject = labels
    block = f"{sender}: {ANNA}\n{sent}: {date}\n{to}: Ben <ben@example.com>\n{subject}: Test"
    reply = trim_reply(f"New text.\n\n{block}\n\nold text\n")
    assert (reply.body, reply.trimmed) == ("New text.", f"{block}\n\nold text")


DELIMITERS = [
    "-----Original-Nachricht-----",
    "-------- Alkuperäinen viesti / Orig.Msg. --------",
    "-----Upprunaleg skilaboð-----",
    "-----Pôvodná správa-----",
    "-----Mesaj original-----",
    "-----Izvorna poruka-----",
    "-----Оригинална порука-----",
    "-----Izvirno sporočilo-----",
    "-----Оригинално съобщение-----",
    "-----Оригінальне повідомлення-----",
    "-----Αρχικό μήνυμα-----",
    "-----Orijinal Mesaj-----",
    "-------- Özgün ileti --------",
    "-----הודעה מקורית-----",
    "-------- الرسالة الأصليَّة --------",
    "-----پیام اصلی-----",
    "-----मूल संदेश-----",
    "-----ข้อความต้นฉบับ-----",
    "-----Thư gốc-----",
    "-----Pesan Asli-----",
    "-----Mesej Asal-----",
    "-----原始郵件-----",
    "-----원본 메시지-----",
    "-----Algsõnum-----",
    "-----Sākotnējais ziņojums-----",
    "-----Pradinis pranešimas-----",
    "-----Missatge original-----",
    "-----Jatorrizko mezua-----",
    "-----Mensaxe orixinal-----",
    "---------- Původní e-mail ----------",
    "----- Ursprüngliche Mail -----",
    "----- Mail original -----",
    "---- Replied Message ----",
    "-------- Oprindelig besked --------",
    "-------- 원본 이메일 --------",
    "------------------ Original ------------------",
]


@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_original_message_delimiter_is_history(delimiter: str):
    """Each language's original-message delimiter starts history."""
    text = f"New text.\n\n{delimiter}\nFrom: Anna\n\nold text\n"
    assert trim_reply(text).body == "New text."


FORWARD_MARKERS = [
    "---------- Wiadomość przekazana dalej ---------",
    "-------- Välitetty viesti / Fwd.Msg --------",
    "---------- Preposlaná správa ---------",
    "-------- Перенаправленное сообщение --------",
    "---------- Mesaj redirecționat ---------",
    "---------- Proslijeđena poruka ---------",
    "---------- Прослеђена порука ---------",
    "---------- Posredovano sporočilo ---------",
    "---------- Препратено съобщение ---------",
    "---------- Пересланий лист ---------",
    "---------- İletilen ileti ---------",
    "---------- הודעה שהועברה ---------",
    "-------- رسالة ممرّرة --------",
    "---------- پیام هدایت شده ---------",
    "---------- अग्रेषित संदेश ---------",
    "---------- ข้อความที่ส่งต่อ ---------",
    "---------- Thư đã chuyển tiếp ---------",
    "---------- Pesan terusan ---------",
    "---------- 已轉寄郵件 ---------",
    "---------- 전달된 메일 ---------",
    "---------- Edastatud kiri ---------",
    "---------- Pārsūtīts ziņojums ---------",
    "---------- Persiųstas laiškas ---------",
    "---------- Missatge reenviat ---------",
    "---------- Birbidalitako mezua ---------",
    "---------- Mensaxe reenviada ---------",
    "Vidarebefordrat mejl:",
    "Start på videresendt besked:",
    "Välitetty viesti alkaa:",
    "Początek przekazywanej wiadomości:",
    "Začátek přeposílané zprávy:",
    "Továbbított levél kezdete:",
    "Αρχή προωθημένου μηνύματος:",
    "İletilen mesajın başlangıcı:",
    "תחילת הודעה שהועברה:",
    "بداية الرسالة المعاد توجيهها:",
    "以下是转发的邮件：",
    "Inici del missatge reenviat:",
]


@pytest.mark.parametrize("marker", FORWARD_MARKERS)
def test_forward_with_a_note_is_kept_whole(marker: str):
    """A forward marker in any language keeps the note and the forwarded mail, as a forward."""
    head = f"{marker}\nFrom: {ANNA}\nDate: 15.01.2025 17:03"
    reply = trim_reply(f"See below.\n\n{head}\n\nThe report.")
    assert reply.trimmed == ""
    assert reply.blocks == (
        Block(BlockKind.TEXT, "See below."),
        Block(BlockKind.FORWARD, "The report.", head=head, sender=ANNA, date="15.01.2025 17:03"),
    )


FOOTERS = [
    "Enviado a partir do meu iPhone",
    "Enviado desde o meu iPhone",
    "Enviat des del meu iPhone",
    "Sent úr iPhone",
    "Lähetetty Samsung Galaxy -älypuhelimesta",
    "Odoslané z iPhonu",
    "iPhone-ról küldve",
    "Trimis de pe iPhone-ul meu",
    "Poslano s mog iPhonea",
    "Послато са мог iPhone-а",
    "Poslano iz mojega iPhona",
    "Изпратено от моя iPhone",
    "iPhone'umdan gönderildi",
    "Samsung Galaxy akıllı telefonumdan gönderildi",
    "נשלח מה-iPhone שלי",
    "أُرسلت من iPhone",
    "ارسال شده از iPhone من",
    "मेरे iPhone से भेजा गया",
    "ส่งจาก iPhone ของฉัน",
    "Gửi từ iPhone của tôi",
    "Dikirim dari iPhone saya",
    "Dihantar dari iPhone saya",
    "Saadetud minu iPhone'ist",
    "Nosūtīts no mana iPhone",
    "Išsiųsta iš mano iPhone",
    "Nire iPhonetik bidalia",
    "Outlook für iOS beziehen",
    "Obtenir Outlook pour iOS",
    "Obtener Outlook para Android",
    "Outlook voor iOS downloaden",
    "Hent Outlook til iOS",
    "Hanki Outlook for iOS",
    "Pobierz aplikację Outlook dla systemu iOS",
    "Получить Outlook для iOS",
    "iOS 版 Outlook を入手",
    "获取 Outlook for iOS",
    "iOS용 Outlook 다운로드",
    "iOS için Outlook'u edinin",
    "Λήψη του Outlook για Android",
    "갤럭시 스마트폰에서 보냄",
    "Sendt fra min Galaxy",
    "Gesendet mit der WEB.DE Mail App",
    "Enviado desde Correo para Windows",
    "Отправлено из мобильной Почты Mail.ru",
    "Inviato dal mio dispositivo Samsung",
    "Wysłane z mojego smartfona Galaxy",
]


@pytest.mark.parametrize("footer", FOOTERS)
def test_mobile_footer_is_trimmed(footer: str):
    """Each language's mobile footer after the author's last line is removed."""
    reply = trim_reply(f"Yes, go ahead.\n\n{footer}\n")
    assert (reply.body, reply.trimmed) == ("Yes, go ahead.", footer)


# --- prose that only looks like a marker ----------------------------------------------------------

PROSE_BEFORE_TEXT = [
    # A sentence ending with a colon, with a date, a lead word and a verb, but naming no writer.
    "Pe 15.01.2025 Ion a scris următoarele:",
    "O 15 de xaneiro escribiu o seguinte:",
    "Dne 15. 1. 2025 jsme napsali dodavateli toto:",
    "في 15/01/2025 كتب المدير ما يلي:",
    "בתאריך 15.01.2025 כתב לי הספק את זה:",
    "Pada 15 Januari 2025 pukul 17.03 kami menulis ini:",
    "15.01.2025 tarihinde müşteriye şunu yazdık:",
    # Label-like words opening a line, without a header block around them.
    "De: lo que vimos ayer, el error persiste.\nPara: mañana lo arreglamos.",
    "No: rīt sāksim testēšanu.\nKam: visai komandai.",
    "Od: jutra pracujemy zdalnie.\nDo: piątku.",
    "Za: sve je spremno.\nPrima: Ivan.",
    "Από: σήμερα δουλεύουμε από το σπίτι.\nΠρος: όλη την ομάδα.",
    # A dated sentence ending in a verb and a colon, whose writer is no name: a thing, an
    # article before a noun, or words in a script without capitals.
    "On Monday 15.01.2025 at 17:03 the cron job wrote:",
    "Le 15 janvier 2025 à 17h03, le client a écrit :",
    "El 15/01/2025 a las 17:03 el sistema escribió:",
    "15 января 2025 в 17:03 клиент написал:",
    "客户在2025年1月15日17:03写道：",
    "2025年1月15日、田中さんは書きました：",
    "Am 15.01.2025 um 17:03 hat die Kundin geschrieben:",
    "Il 15/01/2025 alle 17:03 il Cliente ha scritto:",
    "W dniu 15.01.2025 o 17:03 system napisał:",
    "Dne 15. 1. 2025 v 17:03 zákazník napsal:",
    "15.01.2025 17:03 tarihinde müşteri yazdı:",
    "در 15/01/2025 مشتری نوشت:",
    "15/01/2025 को ग्राहक ने लिखा:",
    "בתאריך 15/01/2025 הספק כתב:",
    "على 15/01/2025 17:03، كتب العميل ما يلي:",
    # Forms whose labels are header labels, without an address, a Subject and a named sender.
    "From: Berlin Hbf\nTo: München Hbf\nDate: 20 Jan 2025, 08:00",
    "Von: Berlin Hbf\nNach: München Hbf\nDatum: 20.01.2025, 08:00 Uhr",
    "Da: lunedì 20 gennaio\nA: venerdì 24 gennaio\nOggetto: ferie",
    "From: our side everything is ready.\nSubject: to your approval, we start on Monday.",
    "De: Madrid\nPara: Sevilla\nFecha: 20/01/2025",
    "Od: Warszawa Centralna\nDo: Kraków Główny\nData: 20.01.2025, 08:00",
    "From: here To: there Date: 20 Jan 2025",
    # A rule above a line that mentions leaving, without a link, an address or a list.
    "----\nWer sich abmelden möchte, bitte bis Donnerstag Bescheid geben.",
    "----\nTo unsubscribe from the lunch rota, tell Anna by Thursday.",
    # A ruled "Original" is QQ Mail's delimiter only when ruled long.
    "--- Original ---\nFrom: Anna",
]


@pytest.mark.parametrize("prose", PROSE_BEFORE_TEXT)
def test_prose_that_resembles_a_marker_is_content(prose: str):
    """A sentence or label-like line in ordinary prose keeps the text after it."""
    text = f"Context.\n\n{prose}\n\nThe text that follows is the author's.\n\nBen"
    assert trim_reply(text).body == text


PROSE_LAST_LINES = [
    "Paket İstanbul'dan gönderildi.",
    "A csomagot Budapestről küldve kapod meg.",
    "Lähetetty eilen postilla.",
    "यह पत्र दिल्ली से भेजा गया",
    "ส่งจากกรุงเทพเมื่อวานนี้",
    "Outlook para iOS falla al abrir el adjunto.",
    # "Sent with" a carrier, from a place: no device of the writer's.
    "Gesendet mit DHL, Sendungsnummer folgt.",
    "Envoyé par Colissimo, suivi 6A123.",
    "Enviado con MRW el lunes",
    "Inviato tramite corriere espresso",
    "Отправлено через СДЭК, трек-номер пришлю завтра",
    "Wysłane przez kuriera w poniedziałek",
    "Enviado do escritório de Lisboa",
    "Sent via DHL Express",
    "Sent via DHL. Sorry for my late reply.",
    "Verzonden met PostNL, track & trace volgt",
    "Skickat från lagret i Göteborg",
    "東京から送信",
    "서울 본사 사무실에서 보냄",
]


@pytest.mark.parametrize("line", PROSE_LAST_LINES)
def test_last_sentence_like_a_footer_is_content(line: str):
    """The author's last sentence above a quote is kept when it is not a device footer."""
    assert trim_reply(f"Hello,\n\n{line}\n\n> old text\n").body == f"Hello,\n\n{line}"


@pytest.mark.parametrize(
    "line",
    [
        # Gmail wraps a right-to-left attribution in embeddings: it ends in ":\u202c".
        "\u202bבתאריך יום ב׳, 15 בינו׳ 2025 ב-17:03 מאת \u202aAnna Andersson\u202c\u200f "
        "<\u202aanna@example.com\u202c\u200f>:\u202c",
        # Thunderbird's "author wrote on date" order, without an address.
        "Anna Andersson kirjoitti 15.1.2025 klo 17.03:",
        # A Chinese verb after a date, with no lead word before the name.
        "Anna Andersson 於 2025/1/15 17:03 寫道:",
    ],
)
def test_attribution_without_a_lead_word_starts_unquoted_history(line: str):
    """Attributions that open with a name or a direction mark still start history."""
    reply = trim_reply(f"Kiitos!\n\n{line}\n\nvanha teksti\n")
    assert (reply.body, reply.trimmed) == ("Kiitos!", f"{line}\n\nvanha teksti")


@pytest.mark.parametrize(
    "line",
    [
        "asiakas kirjoitti 15.1.2025 klo 17.03 näin:",
        "Der Kunde schrieb am 15.01.2025:",
    ],
)
def test_sentence_with_a_verb_and_a_date_is_no_attribution(line: str):
    """A sentence naming no one before its verb, or not dated right after it, is the author's."""
    text = f"Kiitos!\n\n{line}\n\nvanha teksti"
    assert trim_reply(text).body == text


@pytest.mark.parametrize(
    "prose",
    [
        "On Monday 15.01.2025 at 17:03 the cron job wrote:",
        "15 января 2025 в 17:03 клиент написал:",
        "客户在2025年1月15日17:03写道：",
        "على 15/01/2025 17:03، كتب سارة علي:",
    ],
)
def test_sentence_like_an_attribution_still_introduces_a_trailing_quote(prose: str):
    """A dated sentence naming no writer counts as an attribution when a trailing quote
    follows it: the quote is history either way."""
    reply = trim_reply(f"Thanks.\n\n{prose}\n> old text\n")
    assert (reply.body, reply.trimmed) == ("Thanks.", f"{prose}\n> old text")


@pytest.mark.parametrize(
    "block",
    [
        "From: Luca Bianchi\nTo: Ufficio personale\nSubject: Ferie",
        "Da: Luca Bianchi\nA: Ufficio personale\nOggetto: ferie",
        "From: Arpit Jalan\nSent: Friday, January 17, 2025 12:35 PM\nTo: Ben Carter",
        "Von: Anna Schmidt\nGesendet: Freitag, 17. Januar 2025 12:35\nAn: Ben Carter",
    ],
)
def test_header_block_without_address_is_history(block: str):
    """A header block naming no address is history when its From names someone and a Subject
    or a Sent line (Windows Mail's block has no Subject) comes with it."""
    reply = trim_reply(f"New text.\n\n{block}\n\nold text\n")
    assert (reply.body, reply.trimmed) == ("New text.", f"{block}\n\nold text")


@pytest.mark.parametrize(
    "footer",
    [
        "Sie erhalten diese Nachricht, weil Sie die Liste abonniert haben.\n"
        "Abmelden: https://lists.example.de/abmelden",
        "Pour vous désinscrire : liste-info@example.fr",
        "Чтобы отписаться от рассылки, ответьте на это письмо.",
    ],
)
def test_mailing_list_footer_below_a_rule_is_history(footer: str):
    """A list footer below a rule, naming a link, an address or the list, is history."""
    reply = trim_reply(f"Das Treffen ist am Freitag.\n\n______\n{footer}\n")
    assert (reply.body, reply.trimmed) == ("Das Treffen ist am Freitag.", f"______\n{footer}")
