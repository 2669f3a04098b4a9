# Created empty: the token is set with `aws secretsmanager put-secret-value` (README), so it
# never passes through Terraform variables or state.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:A GitHub token cannot be rotated by a Lambda rotation function; it is replaced by hand (README) and the function picks it up within 15 minutes.
  #checkov:skip=CKV_AWS_149:The AWS-managed key protects one token read by one role; a customer-managed key adds a key policy without narrowing who can read it.
  name                    = var.name
  description             = "GitHub token ticket-router posts comments with (JSON {\"token\": \"...\"} or the bare token)"
  recovery_window_in_days = var.recovery_window_in_days
}
