# ticket-router: SES receives mail for the domains of routes.yaml, stores it in S3 and notifies
# the mail topic, whose queue feeds the function, which posts the mail to GitHub. The modules
# never reference each other; this file wires them, and the order SES needs (bucket policy,
# topic policy and the queue's subscription before the receipt rule) follows from the outputs
# the rule consumes.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The caller's provider decides the region (this module configures no provider).
data "aws_region" "current" {}

locals {
  routes_file = coalesce(var.routes_file, "${path.module}/../routes.yaml")
  # routes.yaml read as the handler reads it (handler/routing/validate.py): yamldecode resolves
  # anchors and << merge keys; top-level x- keys only hold anchors and are not read; each route
  # takes the `defaults:` it does not give itself, the route's own value winning whole (a list
  # is replaced, not joined), and defaults never name a route (domain, prefix, repo, name,
  # new_issue_address). try(): a file without defaults.
  routes_document = yamldecode(file(local.routes_file))
  route_defaults  = try({ for key, value in local.routes_document.defaults : key => value if !contains(["domain", "prefix", "repo", "name", "new_issue_address"], key) }, {})
  routes          = [for route in local.routes_document.routes : merge(local.route_defaults, route)]
  # One source of truth: the domains SES receives for are the domains the function routes, in the
  # handler's normal form (handler/routing/domains.py); an internationalised domain must be
  # written in its xn-- form (var.routes_file's validation, as `check` says).
  domains = distinct([for route in local.routes : trimsuffix(lower(trimspace(route.domain)), ".")])
  # The domains of the routes that mail senders notices (notify, on unless a route says false)
  # or confirmations (confirm): the function may send from these SES identities only.
  notice_domains = distinct([for route in local.routes : trimsuffix(lower(trimspace(route.domain)), ".") if try(route.notify, true) || try(route.confirm, false)])
  # The domains of the routes that mail each GitHub comment to the issue's mail participants
  # (notify_participants): the webhook, the work queue and the outbox exist only for these.
  participant_domains = distinct([for route in local.routes : trimsuffix(lower(trimspace(route.domain)), ".") if try(route.notify_participants, false)])
  replies             = length(local.participant_domains) > 0
  # Each route's attachments as handler/routing reads them: a string is the mode (`link` or
  # `list`); a map gives the mode (default list), the storage (default github) and the
  # retention_days (default none: kept as long as the issue).
  attachments = [for route in local.routes : {
    mode           = try(tostring(route.attachments), try(route.attachments.mode, "list"))
    storage        = try(route.attachments.storage, "github")
    retention_days = try(route.attachments.retention_days, null)
  }]
  # The attachments bucket and its distribution exist only for routes that link files stored in
  # S3; each retention of theirs is a lifecycle rule of the bucket.
  attachments_s3             = length([for setting in local.attachments : setting if setting.mode == "link" && setting.storage == "s3"]) > 0
  attachments_retention_days = distinct([for setting in local.attachments : setting.retention_days if setting.mode == "link" && setting.storage == "s3" && setting.retention_days != null])
  # Files committed to GitHub expire by a daily sweep, for routes that give them a retention.
  attachments_sweep = length([for setting in local.attachments : setting if setting.mode == "link" && setting.storage == "github" && setting.retention_days != null]) > 0
  # The package must hold this very file: the function checks it before it deploys.
  routes_sha256 = filesha256(local.routes_file)
  # The secrets routes post with (a route's own token_secret, a GitHub App's private_key_secret),
  # trimmed as handler/routing/checks.py reads them: the function (and the outbox, which reacts with
  # them) may read these and the default token.
  route_secrets = distinct(compact(flatten([for route in local.routes : [try(trimspace(route.token_secret), ""), try(trimspace(route.github_app.private_key_secret), "")]])))
  # A name is granted on its ARN in this account and region. Secrets Manager ends every secret
  # ARN with "-" and 6 random characters: "??????" matches exactly these, where "*" would also
  # match any secret whose name starts with this one's and a hyphen.
  # https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html
  route_secret_arns = sort(distinct([for secret in local.route_secrets : startswith(secret, "arn:") ? secret : "arn:${data.aws_partition.current.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${secret}-??????"]))

  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  rule_set_name = coalesce(var.existing_rule_set_name, var.rule_set_name, var.name)
  # SES takes at most 100 recipients per rule: the domains, sorted, in rules of 100. The first
  # keeps the name of the one rule of earlier versions, so its state keeps its address.
  # https://docs.aws.amazon.com/ses/latest/dg/quotas.html
  rules = [for index, recipients in chunklist(sort(local.domains), 100) : {
    name       = index == 0 ? "${var.name}-deliver" : "${var.name}-deliver-${index + 1}"
    recipients = recipients
  }]
  # Built from names, not from the rules, so that the bucket policy and the topic policy can
  # exist before the rules do (SES checks both when a rule is created).
  receipt_rule_arns = [for rule in local.rules : "arn:${data.aws_partition.current.partition}:ses:${local.region}:${local.account_id}:receipt-rule-set/${local.rule_set_name}:receipt-rule/${rule.name}"]
  bucket_name       = coalesce(var.mail_bucket_name, "${var.name}-mail-${local.account_id}")
  package_file      = coalesce(var.package_file, "${path.module}/../dist/ticket-router.zip")
  # A claim must outlive its mail, which can be replayed until S3 removes it: S3 rounds an expiry
  # up to the next midnight UTC, so a mail stays up to a day past mail_retention_days.
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
  claim_ttl_seconds = (var.mail_retention_days + 1) * 86400
}

module "token_secret" {
  source = "./modules/token_secret"

  name = "${var.name}/github-token"
}

module "mail_storage" {
  source = "./modules/mail_storage"

  name              = var.name
  bucket_name       = local.bucket_name
  key_prefix        = var.mail_key_prefix
  retention_days    = var.mail_retention_days
  force_destroy     = var.force_destroy_mail_bucket
  account_id        = local.account_id
  region            = local.region
  receipt_rule_arns = local.receipt_rule_arns
  kms_key_arn       = var.mail_kms_key_arn
  # The function's role by the name the function module gives it, so that the key's policy
  # need not wait for the role.
  reader_arns               = concat(["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:role/${var.name}"], var.mail_readers)
  access_log_bucket_name    = var.access_log_bucket_name
  access_log_retention_days = var.access_log_retention_days
}

module "idempotency_store" {
  source = "./modules/idempotency_store"

  name                = "${var.name}-claims"
  deletion_protection = var.protect_claims_table
}

module "decision_log" {
  source = "./modules/decision_log"

  name = "${var.name}-decisions"
}

module "mail_queue" {
  source = "./modules/mail_queue"

  name              = "${var.name}-mail"
  receipt_rule_arns = local.receipt_rule_arns
  function_timeout  = var.lambda_timeout
  max_receive_count = var.mail_max_receive_count
}

# Routes that link files stored in S3 (public repositories only): nothing of it exists without.
module "attachments" {
  source = "./modules/attachments"
  count  = local.attachments_s3 ? 1 : 0

  name = var.name
  # 40 + 7 + 12 characters at most (the root's name validation): within S3's 63.
  bucket_name    = "${var.name}-files-${local.account_id}"
  retention_days = local.attachments_retention_days
  # One switch lets destroy empty the deployment's buckets.
  force_destroy = var.force_destroy_mail_bucket
}

module "function" {
  source = "./modules/function"

  name                 = var.name
  package_file         = local.package_file
  routes_sha256        = local.routes_sha256
  mail_bucket_name     = local.bucket_name
  mail_bucket_arn      = module.mail_storage.bucket_arn
  mail_kms_key_arn     = module.mail_storage.kms_key_arn
  mail_key_prefix      = var.mail_key_prefix
  token_secret_arn     = module.token_secret.arn
  route_secret_arns    = local.route_secret_arns
  github_api_url       = var.github_api_url
  log_level            = var.log_level
  timeout              = var.lambda_timeout
  memory_size          = var.lambda_memory_size
  reserved_concurrency = var.reserved_concurrency
  log_retention_days   = var.log_retention_days
  mail_queue_arn       = module.mail_queue.queue_arn
  maximum_concurrency  = var.mail_max_concurrency

  github_posts_per_minute = var.github_posts_per_minute
  github_posts_per_hour   = var.github_posts_per_hour

  idempotency_table_name  = module.idempotency_store.table_name
  idempotency_table_arn   = module.idempotency_store.table_arn
  idempotency_ttl_seconds = local.claim_ttl_seconds

  decision_table_name     = module.decision_log.table_name
  decision_table_arn      = module.decision_log.table_arn
  decision_retention_days = var.decision_log_retention_days

  notice_identity_arns = { for domain in local.notice_domains : domain => "arn:${data.aws_partition.current.partition}:ses:${local.region}:${local.account_id}:identity/${domain}" }
  # With replies by mail, notices go through their configuration set, whose bounces and
  # complaints the outbox records; from the module's output, so that it exists before a notice.
  # Without, the splat is empty and the join "": no set.
  ses_configuration_set = join("", module.replies[*].configuration_set_name)

  # Without an attachments bucket the splats are empty and the joins "": no bucket, no grant.
  attachments_bucket_name = join("", module.attachments[*].bucket_name)
  attachments_bucket_arn  = join("", module.attachments[*].bucket_arn)
  attachments_url         = join("", module.attachments[*].url)
  retention_sweep         = local.attachments_sweep
}

module "mail_receiving" {
  source = "./modules/mail_receiving"

  domains             = local.domains
  region              = local.region
  route53_zone_ids    = var.route53_zone_ids
  existing_identities = var.existing_identities
  rule_set_name       = local.rule_set_name
  create_rule_set     = var.existing_rule_set_name == null
  rules               = local.rules
  rule_after          = var.receipt_rule_after
  activate_rule_set   = var.activate_rule_set
  # Both outputs wait for what SES checks: the bucket policy, and the topic policy (with the
  # queue subscribed, so that no notification is dropped).
  bucket_name = module.mail_storage.bucket_name
  key_prefix  = var.mail_key_prefix
  topic_arn   = module.mail_queue.topic_arn
}

# Warnings, never errors: which set is active is the account's business, but a plan that changes
# it, or leaves our rules in a set that receives nothing, must say so. With no set active at all
# the look-up fails, and that failure is the warning. In the root, not in mail_receiving: the
# teardown guard depends on that module, and a module's checks run after every resource.
check "active_receipt_rule_set" {
  data "aws_ses_active_receipt_rule_set" "current" {}

  assert {
    condition     = !var.activate_rule_set || data.aws_ses_active_receipt_rule_set.current.rule_set_name == local.rule_set_name
    error_message = "activate_rule_set = true makes ${local.rule_set_name} the region's active receipt rule set in place of ${data.aws_ses_active_receipt_rule_set.current.rule_set_name}: every rule of ${data.aws_ses_active_receipt_rule_set.current.rule_set_name} stops receiving mail, and destroy leaves no set active. To keep ${data.aws_ses_active_receipt_rule_set.current.rule_set_name}, set existing_rule_set_name = \"${data.aws_ses_active_receipt_rule_set.current.rule_set_name}\" instead."
  }

  assert {
    condition     = var.activate_rule_set || data.aws_ses_active_receipt_rule_set.current.rule_set_name == local.rule_set_name
    error_message = "No mail reaches ticket-router until ${local.rule_set_name}, the set holding its rules, is the region's active receipt rule set (now ${data.aws_ses_active_receipt_rule_set.current.rule_set_name}). Add the rules to the active set with existing_rule_set_name = \"${data.aws_ses_active_receipt_rule_set.current.rule_set_name}\"${var.existing_rule_set_name == null ? ", or activate ${local.rule_set_name} with activate_rule_set = true, which stops every rule of ${data.aws_ses_active_receipt_rule_set.current.rule_set_name}" : ""}."
  }

  # Earlier versions activated their set by default: without activate_rule_set = true, the upgrade
  # destroys that activation and the region receives no mail at all.
  assert {
    condition     = var.activate_rule_set || var.existing_rule_set_name != null || data.aws_ses_active_receipt_rule_set.current.rule_set_name != local.rule_set_name
    error_message = "${local.rule_set_name} is the region's active receipt rule set but activate_rule_set is false: if Terraform activated it (activate_rule_set = true, the former default), this apply deactivates it and no rule set is left active. Set activate_rule_set = true to keep it active."
  }
}

# Replies by mail (routes with notify_participants): nothing of it exists without such a route.
module "webhook_secret" {
  source = "./modules/token_secret"
  count  = local.replies ? 1 : 0

  name        = "${var.name}/github-webhook-secret"
  description = "Master secret of the GitHub webhooks: it signs deliveries for any repository; each owner's (or App's) webhook secret can be derived from it (ticket-router webhook-secret), and so is the key of the unsubscribe links. The bare string."
}

module "replies" {
  source = "./modules/replies"
  count  = local.replies ? 1 : 0

  name                         = var.name
  package_file                 = local.package_file
  webhook_secret_arn           = module.webhook_secret[0].arn
  idempotency_table_name       = module.idempotency_store.table_name
  idempotency_table_arn        = module.idempotency_store.table_arn
  idempotency_ttl_seconds      = local.claim_ttl_seconds
  github_api_url               = var.github_api_url
  log_level                    = var.log_level
  log_retention_days           = var.log_retention_days
  webhook_reserved_concurrency = var.webhook_reserved_concurrency
  # The outbox reacts on mailed comments with the mail function's credentials, under the same
  # rate limit per credential.
  token_secret_arn        = module.token_secret.arn
  route_secret_arns       = local.route_secret_arns
  github_posts_per_minute = var.github_posts_per_minute
  github_posts_per_hour   = var.github_posts_per_hour
  # The participants' domains' identities (mail_receiving's output): the outbox sends through them.
  sending_identity_arns = { for domain in local.participant_domains : domain => module.mail_receiving.identity_arns[domain] }
}

module "alarms" {
  source = "./modules/alarms"

  name                        = "${var.name}-alarms"
  function_name               = module.function.function_name
  mail_queue_name             = module.mail_queue.queue_name
  mail_dead_letter_queue_name = module.mail_queue.dead_letter_queue_name
  alarm_email                 = var.alarm_email
  rejection_spike_threshold   = var.rejection_spike_threshold
  rejection_spike_minutes     = var.rejection_spike_minutes
  # Empty without replies by mail: merge() of no maps is an empty one.
  more_function_names     = merge(module.replies[*].function_names...)
  dead_letter_queue_names = merge([for replies in module.replies : { work = replies.dead_letter_queue_name }]...)
  # Null without replies by mail: no alarm on the outbox's unknown SES outcomes.
  mail_outcome_unknown_metric = one(module.replies[*].mail_outcome_unknown_metric)
}

# Destroyed first (it depends on every other module), so a destroy while the mail bucket or the
# claims table is still protected refuses before deleting anything, instead of failing half-way.
module "teardown_guard" {
  source = "./modules/teardown_guard"

  protected = !var.force_destroy_mail_bucket || var.protect_claims_table
  message   = "ticket-router still protects its mail: nothing was destroyed. Set force_destroy_mail_bucket = true and protect_claims_table = false, run terraform apply, then terraform destroy."

  depends_on = [
    module.token_secret,
    module.mail_storage,
    module.idempotency_store,
    module.decision_log,
    module.mail_queue,
    module.attachments,
    module.function,
    module.mail_receiving,
    module.webhook_secret,
    module.replies,
    module.alarms,
  ]
}
