"""The local stack: a one-node KRaft Kafka from Maven jars, stripe-mock, and a chDB warehouse bridge."""
