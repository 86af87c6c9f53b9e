//! AWS CLI shorthand syntax (placeholder; being written).
