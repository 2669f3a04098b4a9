locals {
  # Domains whose DNS this deployment writes: those with a Route 53 zone given.
  managed = { for domain in var.domains : domain => var.route53_zone_ids[domain] if contains(keys(var.route53_zone_ids), domain) }
  dkim_records = {
    for pair in setproduct(keys(local.managed), [0, 1, 2]) : "${pair[0]}#${pair[1]}" => {
      domain = pair[0]
      index  = pair[1]
    }
  }
  inbound_smtp = "inbound-smtp.${var.region}.amazonaws.com"
}

# SES v1 identities on purpose: receipt rules are a v1 API, and the v1 identity exposes the
# _amazonses verification token that receiving needs. An SESv2 email identity for the same domain
# would be the same account-level identity, verified through DKIM only.
resource "aws_ses_domain_identity" "this" {
  for_each = toset(var.domains)

  domain = each.value
}

resource "aws_ses_domain_dkim" "this" {
  for_each = aws_ses_domain_identity.this

  domain = each.value.domain
}

resource "aws_route53_record" "verification" {
  for_each = local.managed

  zone_id = each.value
  name    = "_amazonses.${each.key}"
  type    = "TXT"
  ttl     = 600
  records = [aws_ses_domain_identity.this[each.key].verification_token]
}

resource "aws_route53_record" "dkim" {
  for_each = local.dkim_records

  zone_id = local.managed[each.value.domain]
  name    = "${aws_ses_domain_dkim.this[each.value.domain].dkim_tokens[each.value.index]}._domainkey.${each.value.domain}"
  type    = "CNAME"
  ttl     = 600
  records = ["${aws_ses_domain_dkim.this[each.value.domain].dkim_tokens[each.value.index]}.dkim.amazonses.com"]
}

resource "aws_route53_record" "mx" {
  for_each = local.managed

  zone_id = each.value
  name    = each.key
  type    = "MX"
  ttl     = 600
  records = ["10 ${local.inbound_smtp}"]
}

resource "aws_ses_domain_identity_verification" "this" {
  for_each = local.managed

  domain = aws_ses_domain_identity.this[each.key].id

  depends_on = [aws_route53_record.verification]
}

resource "aws_ses_receipt_rule_set" "this" {
  rule_set_name = var.rule_set_name
}

# One rule for every routed domain: store the mail, and once it is stored notify the mail topic,
# whose queue feeds the function. The notification carries SES's verdicts and the object's
# bucket and key (handler/service/events.py); the function reads the mail from there
# (handler/aws/s3.py). No Lambda action: a mail waits in the queue, not in Lambda's retries.
resource "aws_ses_receipt_rule" "this" {
  name          = var.rule_name
  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name
  recipients    = var.domains
  enabled       = true
  scan_enabled  = true
  tls_policy    = "Require"

  s3_action {
    bucket_name       = var.bucket_name
    object_key_prefix = var.key_prefix
    topic_arn         = var.topic_arn
    position          = 1
  }
}

# An account has one active rule set; activating ours replaces whatever was active.
resource "aws_ses_active_receipt_rule_set" "this" {
  count = var.activate_rule_set ? 1 : 0

  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name

  depends_on = [aws_ses_receipt_rule.this]
}
