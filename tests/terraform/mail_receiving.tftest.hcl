# The mail_receiving module planned with a mocked provider (tests/test_terraform.py runs this
# with `terraform test` in a copy of the module): the rules, where they go, the identities it
# creates or adopts, and the activation of a set of ours (the warnings about the region's active set
# are the root's: main.tftest.hcl). Values are compared as JSON: to Terraform a list and a tuple
# are never equal.

mock_provider "aws" {
  override_during = plan

  mock_data "aws_sesv2_email_identity" {
    defaults = { arn = "arn:aws:ses:eu-west-1:123456789012:identity/issues.example.com" }
  }

  mock_resource "aws_sesv2_email_identity" {
    defaults = {
      arn                     = "arn:aws:ses:eu-west-1:123456789012:identity/created"
      dkim_signing_attributes = { tokens = ["token1", "token2", "token3"] }
    }
  }

  mock_resource "aws_ses_receipt_rule_set" {
    defaults = { rule_set_name = "tr" }
  }
}

variables {
  domains          = ["issues.example.com", "anomalies.example.org"]
  region           = "eu-west-1"
  route53_zone_ids = { "issues.example.com" = "Z0123456789ABCDEFGHIJ" }
  rule_set_name    = "tr"
  rules            = [{ name = "tr-deliver", recipients = ["anomalies.example.org", "issues.example.com"] }]
  bucket_name      = "tr-mail-123456789012"
  key_prefix       = "inbound/"
  topic_arn        = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
}

# A new account with the defaults: our own set, not activated (the root's check says so).
run "a_new_account" {
  command = plan

  assert {
    condition = jsonencode([for action in aws_ses_receipt_rule.this.s3_action : {
      bucket_name       = action.bucket_name
      object_key_prefix = action.object_key_prefix
      topic_arn         = action.topic_arn
      position          = action.position
      }]) == jsonencode([{
      bucket_name       = "tr-mail-123456789012"
      object_key_prefix = "inbound/"
      topic_arn         = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
      position          = 1
    }])
    error_message = "One S3 action stores the mail and notifies the mail topic."
  }

  assert {
    condition = alltrue([
      length(aws_ses_receipt_rule.this.lambda_action) == 0,
      length(aws_ses_receipt_rule.this.sns_action) == 0,
      length(aws_ses_receipt_rule.this.stop_action) == 0,
      length(aws_ses_receipt_rule.this.bounce_action) == 0,
    ])
    error_message = "No other action: the function is fed by the queue, never invoked by SES."
  }

  assert {
    condition     = aws_ses_receipt_rule.this.tls_policy == "Require" && aws_ses_receipt_rule.this.scan_enabled && aws_ses_receipt_rule.this.enabled
    error_message = "TLS required, spam and virus scan on, rule enabled."
  }

  assert {
    condition = jsonencode({
      set        = aws_ses_receipt_rule_set.this[0].rule_set_name
      rule_set   = aws_ses_receipt_rule.this.rule_set_name
      name       = aws_ses_receipt_rule.this.name
      after      = aws_ses_receipt_rule.this.after
      recipients = sort(aws_ses_receipt_rule.this.recipients)
      more       = length(aws_ses_receipt_rule.more)
      active     = length(aws_ses_active_receipt_rule_set.this)
      }) == jsonencode({
      set        = "tr"
      rule_set   = "tr"
      name       = "tr-deliver"
      after      = null
      recipients = ["anomalies.example.org", "issues.example.com"]
      more       = 0
      active     = 0
    })
    error_message = "One rule, first in our own set, which is not activated."
  }

  assert {
    condition = jsonencode({
      identities   = sort(keys(aws_sesv2_email_identity.this))
      key_length   = [for identity in aws_sesv2_email_identity.this : identity.dkim_signing_attributes[0].next_signing_key_length]
      adopted      = length(data.aws_sesv2_email_identity.existing)
      verification = { for domain, verification in aws_ses_domain_identity_verification.this : domain => verification.domain }
      }) == jsonencode({
      identities   = ["anomalies.example.org", "issues.example.com"]
      key_length   = ["RSA_2048_BIT", "RSA_2048_BIT"]
      adopted      = 0
      verification = { "issues.example.com" = "issues.example.com" }
    })
    error_message = "Both identities are created with Easy DKIM; verification is awaited where the zone is ours."
  }

  assert {
    condition = jsonencode({ for key, record in aws_route53_record.dkim : key => [record.zone_id, record.name, record.type, record.records] }) == jsonencode({
      "issues.example.com#0" = ["Z0123456789ABCDEFGHIJ", "token1._domainkey.issues.example.com", "CNAME", ["token1.dkim.amazonses.com"]]
      "issues.example.com#1" = ["Z0123456789ABCDEFGHIJ", "token2._domainkey.issues.example.com", "CNAME", ["token2.dkim.amazonses.com"]]
      "issues.example.com#2" = ["Z0123456789ABCDEFGHIJ", "token3._domainkey.issues.example.com", "CNAME", ["token3.dkim.amazonses.com"]]
    })
    error_message = "The three DKIM CNAMEs of the created identity go into its zone."
  }

  assert {
    condition = jsonencode({ for domain, record in aws_route53_record.mx : domain => [record.zone_id, record.name, record.type, record.records] }) == jsonencode({
      "issues.example.com" = ["Z0123456789ABCDEFGHIJ", "issues.example.com", "MX", ["10 inbound-smtp.eu-west-1.amazonaws.com"]]
    })
    error_message = "The MX points at the region's inbound endpoint."
  }

  assert {
    condition = jsonencode({
      rule_set_name      = output.rule_set_name
      receipt_rule_names = output.receipt_rule_names
      unmanaged_domains  = output.unmanaged_domains
      identity_arns      = output.identity_arns
      dns_records        = output.dns_records["anomalies.example.org"]
      }) == jsonencode({
      rule_set_name      = "tr"
      receipt_rule_names = ["tr-deliver"]
      unmanaged_domains  = ["anomalies.example.org"]
      identity_arns = {
        "anomalies.example.org" = "arn:aws:ses:eu-west-1:123456789012:identity/created"
        "issues.example.com"    = "arn:aws:ses:eu-west-1:123456789012:identity/created"
      }
      dns_records = [
        { name = "anomalies.example.org", type = "MX", value = "10 inbound-smtp.eu-west-1.amazonaws.com" },
        { name = "token1._domainkey.anomalies.example.org", type = "CNAME", value = "token1.dkim.amazonses.com" },
        { name = "token2._domainkey.anomalies.example.org", type = "CNAME", value = "token2.dkim.amazonses.com" },
        { name = "token3._domainkey.anomalies.example.org", type = "CNAME", value = "token3.dkim.amazonses.com" },
      ]
    })
    error_message = "The outputs name the set, the rule, the identities and the records to add by hand."
  }
}

# An account whose active set "corp-inbound" already receives mail: our rule joins it after its
# rule "spam-filter"; no set is created or activated, and nothing is left to warn about.
run "an_existing_rule_set" {
  command = plan

  variables {
    rule_set_name   = "corp-inbound"
    create_rule_set = false
    rule_after      = "spam-filter"
  }

  assert {
    condition = jsonencode({
      sets       = length(aws_ses_receipt_rule_set.this)
      active     = length(aws_ses_active_receipt_rule_set.this)
      rule_set   = aws_ses_receipt_rule.this.rule_set_name
      after      = aws_ses_receipt_rule.this.after
      output_set = output.rule_set_name
      }) == jsonencode({
      sets       = 0
      active     = 0
      rule_set   = "corp-inbound"
      after      = "spam-filter"
      output_set = "corp-inbound"
    })
    error_message = "The rule goes into the existing set after spam-filter; no set of ours."
  }
}

# An identity that exists is adopted when listed: read, not created, no DKIM record written for
# it and no verification awaited; its MX is still ours to write.
run "an_adopted_identity" {
  command = plan

  variables {
    existing_identities = ["issues.example.com"]
  }

  assert {
    condition = jsonencode({
      created      = keys(aws_sesv2_email_identity.this)
      adopted      = keys(data.aws_sesv2_email_identity.existing)
      dkim         = length(aws_route53_record.dkim)
      verification = length(aws_ses_domain_identity_verification.this)
      mx           = keys(aws_route53_record.mx)
      identity_arn = output.identity_arns["issues.example.com"]
      dns_records  = output.dns_records["issues.example.com"]
      }) == jsonencode({
      created      = ["anomalies.example.org"]
      adopted      = ["issues.example.com"]
      dkim         = 0
      verification = 0
      mx           = ["issues.example.com"]
      identity_arn = "arn:aws:ses:eu-west-1:123456789012:identity/issues.example.com"
      dns_records  = [{ name = "issues.example.com", type = "MX", value = "10 inbound-smtp.eu-west-1.amazonaws.com" }]
    })
    error_message = "The adopted identity is only read; its DKIM is left as it is."
  }
}

# More than 100 domains: the first rule takes 100, the next ones the rest, each right after the
# first rule.
run "more_domains_than_a_rule_takes" {
  command = plan

  variables {
    domains          = [for index in range(150) : format("d%03d.example.com", index)]
    route53_zone_ids = {}
    rules = [
      { name = "tr-deliver", recipients = [for index in range(100) : format("d%03d.example.com", index)] },
      { name = "tr-deliver-2", recipients = [for index in range(100, 150) : format("d%03d.example.com", index)] },
    ]
  }

  assert {
    condition = jsonencode({
      first      = [aws_ses_receipt_rule.this.name, length(aws_ses_receipt_rule.this.recipients), aws_ses_receipt_rule.this.after]
      second     = [for rule in aws_ses_receipt_rule.more : [rule.name, sort(rule.recipients), rule.after, rule.rule_set_name, rule.tls_policy, rule.scan_enabled]]
      s3_actions = [for rule in aws_ses_receipt_rule.more : [for action in rule.s3_action : [action.bucket_name, action.object_key_prefix, action.topic_arn, action.position]]]
      names      = output.receipt_rule_names
      }) == jsonencode({
      first      = ["tr-deliver", 100, null]
      second     = [["tr-deliver-2", [for index in range(100, 150) : format("d%03d.example.com", index)], "tr-deliver", "tr", "Require", true]]
      s3_actions = [[["tr-mail-123456789012", "inbound/", "arn:aws:sns:eu-west-1:123456789012:tr-mail", 1]]]
      names      = ["tr-deliver", "tr-deliver-2"]
    })
    error_message = "150 domains: 100 in the first rule, 50 in a second one after it, with the same action."
  }
}

# The refusals below put the rules into the active set, so that only the refusal fails.
run "a_rule_of_more_than_100_domains" {
  command = plan

  variables {
    rule_set_name    = "corp-inbound"
    create_rule_set  = false
    domains          = [for index in range(101) : format("d%03d.example.com", index)]
    route53_zone_ids = {}
    rules            = [{ name = "tr-deliver", recipients = [for index in range(101) : format("d%03d.example.com", index)] }]
  }

  expect_failures = [var.rules]
}

run "rules_that_miss_a_domain" {
  command = plan

  variables {
    rule_set_name   = "corp-inbound"
    create_rule_set = false
    rules           = [{ name = "tr-deliver", recipients = ["issues.example.com"] }]
  }

  expect_failures = [var.rules]
}

# activate_rule_set = true activates our set (the root's check warns if another one was active).
run "activation_of_our_set" {
  command = plan

  variables {
    activate_rule_set = true
  }

  assert {
    condition     = jsonencode([for active in aws_ses_active_receipt_rule_set.this : active.rule_set_name]) == jsonencode(["tr"])
    error_message = "activate_rule_set = true activates our set."
  }
}

run "activation_of_an_existing_set" {
  command = plan

  variables {
    rule_set_name     = "corp-inbound"
    create_rule_set   = false
    activate_rule_set = true
  }

  expect_failures = [var.activate_rule_set]
}

run "an_adopted_identity_that_is_not_routed" {
  command = plan

  variables {
    rule_set_name       = "corp-inbound"
    create_rule_set     = false
    existing_identities = ["other.example.net"]
  }

  expect_failures = [var.existing_identities]
}

run "a_region_without_receiving" {
  command = plan

  variables {
    rule_set_name   = "corp-inbound"
    create_rule_set = false
    region          = "us-west-1"
  }

  expect_failures = [var.region]
}
