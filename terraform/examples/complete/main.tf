# A complete deployment: the provider configured here, every input of the module set explicitly.
#   make package
#   cd terraform/examples/complete && terraform init && terraform apply
provider "aws" {
  # One of the regions where SES receives mail: the module refuses any other.
  region = var.region

  # Deploy with a role of the target account, as CI usually does; null uses the caller's credentials.
  dynamic "assume_role" {
    for_each = var.assume_role_arn == null ? [] : [var.assume_role_arn]

    content {
      role_arn     = assume_role.value
      session_name = "ticket-router-deploy"
    }
  }

  default_tags {
    tags = {
      Application = "ticket-router"
      Team        = "research-software"
    }
  }
}

module "ticket_router" {
  source = "../../"

  providers = {
    aws = aws
  }

  name         = "ticket-router"
  routes_file  = "${path.module}/../../../routes.yaml"
  package_file = "${path.module}/../../../dist/ticket-router.zip"
  # null: <name>-mail-<account id>.
  mail_bucket_name          = null
  mail_key_prefix           = "inbound/"
  mail_retention_days       = 90
  force_destroy_mail_bucket = false
  # Raw mail under a key created for it. The roles of the operators who replay mail go in
  # mail_readers, e.g. "arn:aws:iam::<account id>:role/<operator role>".
  mail_kms_key_arn = null
  mail_readers     = []
  # The mail bucket's server access logs, in a bucket created for them.
  access_log_bucket_name    = null
  access_log_retention_days = 365
  protect_claims_table      = true
  # Every decision, for `ticket-router why` and `decisions`.
  decision_log_retention_days = 30
  # A dedicated account: the module's own receipt rule set, made the region's active one. In an
  # account that already receives mail, add the rules to its active set instead:
  #   existing_rule_set_name = "<active set>", receipt_rule_after = "<rule>",
  #   activate_rule_set = false, and existing_identities = [<domains with an identity>].
  rule_set_name          = "ticket-router"
  activate_rule_set      = true
  existing_rule_set_name = null
  receipt_rule_after     = null
  existing_identities    = []
  route53_zone_ids = {
    "anomalies.unseen.ac.uk" = "Z0123456789ABCDEFGHIJ"
    "issues.example.com"     = "Z0987654321JIHGFEDCBA"
  }
  github_api_url       = "https://api.github.com"
  log_level            = "INFO"
  lambda_timeout       = 120
  lambda_memory_size   = 1024
  reserved_concurrency = 2
  # The mail queue: two batches at a time, dead-lettered after 30 receives (about a day).
  mail_max_concurrency   = 2
  mail_max_receive_count = 30
  # GitHub's secondary limits for content creation, shared by every execution.
  github_posts_per_minute = 80
  github_posts_per_hour   = 500
  # The webhook function's cap; it exists because routes.yaml's web- route notifies participants.
  webhook_reserved_concurrency = 5
  log_retention_days           = 365
  alarm_email                  = "ops@example.com"
  # A route that rejects 10 mails for good within 15 minutes raises an alarm.
  rejection_spike_threshold = 10
  rejection_spike_minutes   = 15
}
