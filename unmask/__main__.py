from unmask.cli.app import main

main()
