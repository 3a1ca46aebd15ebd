"""Results that a plugin attaches to test reports, carried across
pytest-xdist: a worker's report is serialized to reach the controller, and
an attribute of ours would be dropped on the way without these hooks."""

from typing import Any, Dict

import pytest


class CarriesReportAttribute:
    """Mixin for a plugin object: the report attribute named by
    ``carried_attribute`` survives xdist's report serialization."""

    carried_attribute = ""

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, report: Any) -> Any:
        data = yield
        result = getattr(report, self.carried_attribute, None)
        if data is not None and result is not None:
            data[self.carried_attribute] = result
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, data: Dict[str, Any]) -> Any:
        report = yield
        if report is not None and isinstance(data, dict) and self.carried_attribute in data:
            setattr(report, self.carried_attribute, data[self.carried_attribute])
        return report
