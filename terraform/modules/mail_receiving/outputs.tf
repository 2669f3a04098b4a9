output "receipt_rule_arn" {
  description = "ARN of the receipt rule."
  value       = aws_ses_receipt_rule.this.arn
}

output "rule_set_name" {
  description = "Name of the receipt rule set."
  value       = aws_ses_receipt_rule_set.this.rule_set_name
}

output "dns_records" {
  description = "DNS records each domain needs (MX, SES verification TXT, three DKIM CNAMEs); created already for domains with a Route 53 zone."
  value = {
    for domain in var.domains : domain => concat(
      [
        { name = domain, type = "MX", value = "10 ${local.inbound_smtp}" },
        { name = "_amazonses.${domain}", type = "TXT", value = aws_ses_domain_identity.this[domain].verification_token },
      ],
      [
        for token in aws_ses_domain_dkim.this[domain].dkim_tokens :
        { name = "${token}._domainkey.${domain}", type = "CNAME", value = "${token}.dkim.amazonses.com" }
      ],
    )
  }
}

output "unmanaged_domains" {
  description = "Domains whose DNS records must be added by hand (no Route 53 zone given)."
  value       = [for domain in var.domains : domain if !contains(keys(var.route53_zone_ids), domain)]
}

# Whatever configures an identity (SES feedback notifications) takes it from here, and so waits
# for the identity to exist.
output "identity_arns" {
  description = "ARN of the SES domain identity of each domain, by domain."
  value       = { for domain, identity in aws_ses_domain_identity.this : domain => identity.arn }
}
