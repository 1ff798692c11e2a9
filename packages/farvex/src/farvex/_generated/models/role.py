from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    GUEST = "guest"
    HOST = "host"

    def __str__(self) -> str:
        return str(self.value)
