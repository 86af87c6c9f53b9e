//! Request serializers (being written).
