locals {
  # Where SES receives mail; elsewhere inbound-smtp.<region>.amazonaws.com does not exist.
  # https://docs.aws.amazon.com/general/latest/gr/ses.html (Email receiving endpoints)
  receiving_regions = [
    "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
    "eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-northeast-1",
  ]
  inbound_smtp = "inbound-smtp.${var.region}.amazonaws.com"

  # The identities this deployment owns; the adopted ones are only read.
  created = [for domain in var.domains : domain if !contains(var.existing_identities, domain)]
  # Domains whose DNS this deployment writes: those with a Route 53 zone given.
  managed         = { for domain in var.domains : domain => var.route53_zone_ids[domain] if contains(keys(var.route53_zone_ids), domain) }
  managed_created = { for domain, zone_id in local.managed : domain => zone_id if contains(local.created, domain) }
  dkim_records = {
    for pair in setproduct(keys(local.managed_created), [0, 1, 2]) : "${pair[0]}#${pair[1]}" => {
      domain = pair[0]
      index  = pair[1]
    }
  }
  # Easy DKIM's three tokens of each identity created here.
  dkim_tokens   = { for domain, identity in aws_sesv2_email_identity.this : domain => identity.dkim_signing_attributes[0].tokens }
  rule_set_name = var.create_rule_set ? aws_ses_receipt_rule_set.this[0].rule_set_name : var.rule_set_name
}

# SESv2 on purpose: CreateEmailIdentity fails (AlreadyExistsException) when the identity exists,
# where v1's VerifyDomainIdentity succeeds and Terraform would then own, and on destroy delete,
# an identity someone else made. Easy DKIM: its CNAMEs also verify the domain for receiving.
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_CreateEmailIdentity.html
resource "aws_sesv2_email_identity" "this" {
  for_each = toset(local.created)

  email_identity = each.value

  # Easy DKIM (SES holds the keys, the CNAMEs name them) at SES's default key length, said so
  # that the block always exists: its tokens name the CNAMEs.
  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }
}

# Identities that exist already (existing_identities): read, so a missing one fails the plan by
# name, and never written.
data "aws_sesv2_email_identity" "existing" {
  for_each = toset(var.existing_identities)

  email_identity = each.value
}

# Earlier versions made these with the v1 API; forgetting them instead of destroying them keeps
# an upgrade from deleting identities that may be in use. Import each into
# aws_sesv2_email_identity.this (same identity, same DKIM tokens) or list it in
# existing_identities.
removed {
  from = aws_ses_domain_identity.this

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_ses_domain_dkim.this

  lifecycle {
    destroy = false
  }
}

# The _amazonses TXT records that verified those v1 identities stay with them.
removed {
  from = aws_route53_record.verification

  lifecycle {
    destroy = false
  }
}

resource "aws_route53_record" "dkim" {
  for_each = local.dkim_records

  zone_id = local.managed[each.value.domain]
  name    = "${local.dkim_tokens[each.value.domain][each.value.index]}._domainkey.${each.value.domain}"
  type    = "CNAME"
  ttl     = 600
  records = ["${local.dkim_tokens[each.value.domain][each.value.index]}.dkim.amazonses.com"]
}

resource "aws_route53_record" "mx" {
  for_each = local.managed

  zone_id = each.value
  name    = each.key
  type    = "MX"
  ttl     = 600
  records = ["10 ${local.inbound_smtp}"]
}

# Waits until SES has seen the DKIM records: the identity's status, shared by the v1 and v2 APIs.
resource "aws_ses_domain_identity_verification" "this" {
  for_each = local.managed_created

  domain = aws_sesv2_email_identity.this[each.key].email_identity

  depends_on = [aws_route53_record.dkim]
}

resource "aws_ses_receipt_rule_set" "this" {
  count = var.create_rule_set ? 1 : 0

  rule_set_name = var.rule_set_name
}

# Earlier versions always created the set.
moved {
  from = aws_ses_receipt_rule_set.this
  to   = aws_ses_receipt_rule_set.this[0]
}

# Store the mail, and once it is stored notify the mail topic, whose queue feeds the function.
# The notification carries SES's verdicts and the object's bucket and key
# (handler/service/events.py); the function reads the mail from there (handler/aws/s3.py). No
# Lambda action: a mail waits in the queue, not in Lambda's retries. The first rule goes after
# rule_after (null: first in the set).
resource "aws_ses_receipt_rule" "this" {
  name          = var.rules[0].name
  rule_set_name = local.rule_set_name
  after         = var.rule_after
  recipients    = var.rules[0].recipients
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

# A rule holds at most 100 recipients: the other domains' rules, each right after the first.
# Their order among themselves does not matter: their recipients are disjoint and none stops.
resource "aws_ses_receipt_rule" "more" {
  count = length(var.rules) - 1

  name          = var.rules[count.index + 1].name
  rule_set_name = local.rule_set_name
  after         = aws_ses_receipt_rule.this.name
  recipients    = var.rules[count.index + 1].recipients
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

# A region has one active rule set: activating ours stops every rule of the one it replaces, and
# destroying the activation leaves none active.
resource "aws_ses_active_receipt_rule_set" "this" {
  count = var.activate_rule_set && var.create_rule_set ? 1 : 0

  rule_set_name = aws_ses_receipt_rule_set.this[0].rule_set_name

  depends_on = [aws_ses_receipt_rule.this, aws_ses_receipt_rule.more]
}
