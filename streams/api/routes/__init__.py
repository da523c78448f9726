"""The billing API's routes, one module per resource."""
