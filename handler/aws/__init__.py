"""The AWS adapters: S3, Secrets Manager, DynamoDB, SES and SQS behind the interfaces the service
uses, each translating what boto3 raises into the one error base."""
