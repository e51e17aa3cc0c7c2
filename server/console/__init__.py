"""The settlement console (``mykey-settle``): a Textual app for chamber and city clerks, over HTTP.

It lives apart from the server package's headless modules: ``server`` itself never imports
``textual`` (a hygiene test checks), only this subpackage does.
"""
