"""The customer relations resolvers follow."""
from app.api.loaders import by_id
from app.customers.models import Customer

LOADERS = {"customer": by_id(Customer)}
