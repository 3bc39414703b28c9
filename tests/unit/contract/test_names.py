"""The record names the code uses are exactly the records of the contract (schemas/)."""

from ostock.contract import names
from ostock.contract.schemas import load_schemas


def test_the_names_are_the_contracts_records() -> None:
    records = {version.full_name for version in load_schemas().by_fingerprint.values()}
    defined = {
        value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)
    }

    assert defined == records
    assert {*names.EVENTS, *names.COMMANDS, names.COMMAND_RESULT} == records
