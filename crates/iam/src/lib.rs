//! IAM action catalogue (placeholder; being written).
